// AvroCheck reads what the Go side wrote, with Java Avro only, and prints what it found;
// TestJavaAvro (deploy/check/javaavro_test.go) compares that with the Go side. Nothing is
// compared here, so a Java answer cannot be bent to fit: every line is data.
//
// Usage: java -cp <jars> AvroCheck.java <dir>, where dir holds
//
//   schemas.tsv  <id> TAB <.avsc path>                  one per schema file
//   events.tsv   <id> TAB <.avsc path> TAB <event path> one per single-object event
//   pairs.tsv    <id> TAB <reader .avsc> TAB <writer .avsc>
//
// and it prints, one line each (TAB-separated):
//
//   fp      <id> <16 hex digits: SchemaNormalization.parsingFingerprint64>
//   event   <id> <the decoded record as typed JSON, see typed>
//   compat  <id> <COMPATIBLE | INCOMPATIBLE: SchemaCompatibility.checkReaderWriterCompatibility>
//   error   <id> <what failed>
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.avro.LogicalType;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;

public class AvroCheck {
  static final JsonNodeFactory J = JsonNodeFactory.instance;
  static final ObjectMapper M = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    for (String[] f : rows(dir.resolve("schemas.tsv"))) {
      try {
        Schema s = parse(f[1]);
        System.out.printf("fp\t%s\t%016x%n", f[0], SchemaNormalization.parsingFingerprint64(s));
      } catch (Exception e) {
        error(f[0], e);
      }
    }

    // Java's own mapping of the logical types: an Instant for timestamp-millis, a
    // LocalDate for date, as a consumer with these conversions (or generated classes) sees.
    GenericData model = new GenericData();
    model.addLogicalTypeConversion(new TimeConversions.TimestampMillisConversion());
    model.addLogicalTypeConversion(new TimeConversions.DateConversion());
    for (String[] f : rows(dir.resolve("events.tsv"))) {
      try {
        Schema s = parse(f[1]);
        // The decoder knows only this schema: an event whose header carries another
        // fingerprint fails (MissingSchemaException), not just decodes differently.
        BinaryMessageDecoder<GenericRecord> dec = new BinaryMessageDecoder<>(model, s);
        GenericRecord r = dec.decode(Files.readAllBytes(Path.of(f[2])));
        System.out.printf("event\t%s\t%s%n", f[0], M.writeValueAsString(typed(model, s, r)));
      } catch (Exception e) {
        error(f[0], e);
      }
    }

    for (String[] f : rows(dir.resolve("pairs.tsv"))) {
      try {
        SchemaCompatibility.SchemaPairCompatibility c =
            SchemaCompatibility.checkReaderWriterCompatibility(parse(f[1]), parse(f[2]));
        System.out.printf("compat\t%s\t%s%n", f[0], c.getType());
      } catch (Exception e) {
        error(f[0], e);
      }
    }
  }

  // typed is a value as JSON that says its Avro type, so that the Go side can tell a long
  // from a double or a timestamp: {"long":"12"}, {"double":"<IEEE 754 bits in hex>"},
  // {"timestamp-millis":"<epoch ms>"}, {"date":"<epoch day>"}, {"string":"..."},
  // {"boolean":true}, null; a record or a map is an object of its members. A union is
  // its branch's value: these schemas' unions are null and one other type.
  static JsonNode typed(GenericData model, Schema s, Object v) {
    LogicalType lt = s.getLogicalType();
    switch (s.getType()) {
      case NULL:
        if (v != null) throw new IllegalStateException("null schema holds " + v);
        return J.nullNode();
      case UNION:
        return typed(model, s.getTypes().get(model.resolveUnion(s, v)), v);
      case RECORD: {
        GenericRecord r = (GenericRecord) v;
        ObjectNode o = J.objectNode();
        for (Schema.Field f : s.getFields()) o.set(f.name(), typed(model, f.schema(), r.get(f.pos())));
        return o;
      }
      case MAP: {
        ObjectNode o = J.objectNode();
        Map<String, Object> sorted = new TreeMap<>();
        for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) sorted.put(e.getKey().toString(), e.getValue());
        for (Map.Entry<String, Object> e : sorted.entrySet()) o.set(e.getKey(), typed(model, s.getValueType(), e.getValue()));
        return o;
      }
      case STRING:
        return leaf("string", ((CharSequence) v).toString());
      case BOOLEAN:
        return J.objectNode().put("boolean", (Boolean) v);
      case DOUBLE:
        return leaf("double", String.format("%016x", Double.doubleToRawLongBits((Double) v)));
      case LONG:
        if (lt != null && lt.getName().equals("timestamp-millis"))
          return leaf("timestamp-millis", Long.toString(((Instant) v).toEpochMilli()));
        if (lt != null) throw new IllegalStateException("unexpected logical type " + lt.getName());
        return leaf("long", Long.toString((Long) v));
      case INT:
        if (lt != null && lt.getName().equals("date"))
          return leaf("date", Long.toString(((LocalDate) v).toEpochDay()));
        if (lt != null) throw new IllegalStateException("unexpected logical type " + lt.getName());
        return leaf("int", Integer.toString((Integer) v));
      default:
        throw new IllegalStateException("type " + s.getType() + " is not expected in these schemas");
    }
  }

  static JsonNode leaf(String type, String value) {
    return J.objectNode().put(type, value);
  }

  // parse reads one .avsc with a parser of its own: versions of one record share a name.
  static Schema parse(String path) throws Exception {
    return new Schema.Parser().parse(new File(path));
  }

  static List<String[]> rows(Path p) throws Exception {
    return Files.readAllLines(p).stream().filter(l -> !l.isEmpty()).map(l -> l.split("\t", -1)).toList();
  }

  static void error(String id, Exception e) {
    System.out.printf("error\t%s\t%s%n", id, String.valueOf(e).replaceAll("\\s+", " "));
  }
}
