// ReplayOcfCheck reads Avro object container files that `wolkvox-connect replay --format
// ocf` wrote, with Java Avro's DataFileReader only, and prints what it found;
// TestReplayOCFJava (deploy/check/replay_test.go) compares that with what the Go side
// wrote. Nothing is compared here: every line is data.
//
// Usage: java -cp <jars> ReplayOcfCheck.java <files.tsv>, where files.tsv holds
//
//   <id> TAB <.avro path>     one per file
//
// and it prints, one line each (TAB-separated):
//
//   fp      <id> <16 hex digits: parsingFingerprint64 of the schema the file embeds>
//   meta    <id> <the file's wolkvox.* metadata as a JSON object>
//   record  <id> <the record as typed JSON, in file order>
//   count   <id> <records read>
//   error   <id> <what failed>
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.avro.LogicalType;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;

public class ReplayOcfCheck {
  static final JsonNodeFactory J = JsonNodeFactory.instance;
  static final ObjectMapper M = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    // Java's own mapping of the logical types, as a consumer with these conversions (or
    // generated classes) sees them: an Instant for timestamp-millis, a LocalDate for date.
    GenericData model = new GenericData();
    model.addLogicalTypeConversion(new TimeConversions.TimestampMillisConversion());
    model.addLogicalTypeConversion(new TimeConversions.DateConversion());
    for (String[] f : rows(Path.of(args[0]))) {
      // The reader is given no schema: it reads the one the file embeds.
      GenericDatumReader<GenericRecord> datum = new GenericDatumReader<>(null, null, model);
      try (DataFileReader<GenericRecord> r = new DataFileReader<>(new File(f[1]), datum)) {
        Schema s = r.getSchema();
        System.out.printf("fp\t%s\t%016x%n", f[0], SchemaNormalization.parsingFingerprint64(s));
        ObjectNode meta = J.objectNode();
        for (String k : r.getMetaKeys()) {
          if (k.startsWith("wolkvox.")) meta.put(k, new String(r.getMeta(k), StandardCharsets.UTF_8));
        }
        System.out.printf("meta\t%s\t%s%n", f[0], M.writeValueAsString(meta));
        long n = 0;
        while (r.hasNext()) {
          GenericRecord rec = r.next();
          System.out.printf("record\t%s\t%s%n", f[0], M.writeValueAsString(typed(model, s, rec)));
          n++;
        }
        System.out.printf("count\t%s\t%d%n", f[0], n);
      } catch (Exception e) {
        System.out.printf("error\t%s\t%s%n", f[0], String.valueOf(e).replaceAll("\\s+", " "));
      }
    }
  }

  // typed is a value as JSON that says its Avro type, exactly as AvroCheck.java prints it
  // (deploy/check/testdata/javaavro), so that the Go side's typedNative compares with it:
  // {"long":"12"}, {"double":"<IEEE 754 bits in hex>"}, {"timestamp-millis":"<epoch ms>"},
  // {"date":"<epoch day>"}, {"string":"..."}, {"boolean":true}, null; a record or a map is
  // an object of its members; a union is its branch's value.
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

  static List<String[]> rows(Path p) throws Exception {
    return Files.readAllLines(p).stream().filter(l -> !l.isEmpty()).map(l -> l.split("\t", -1)).toList();
  }
}
