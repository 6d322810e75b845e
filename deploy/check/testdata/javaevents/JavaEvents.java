// JavaEvents consumes report topics from the real broker, read_committed, with Apache
// Kafka's own consumer, decodes every event with Java Avro only and prints what it found;
// TestJavaEvents (deploy/check/javaevents_test.go) compares that, field by field, with
// what the Go side meant to write. Nothing is compared here: every line is data.
//
// Usage: java -cp <jars> JavaEvents.java <bootstrap> <topics.tsv>, topics.tsv holding
// <topic> TAB <.avsc path> lines. Environment, for events in the Confluent wire format:
// REGISTRY_URL (the Confluent-compatible base URL), REGISTRY_USER, REGISTRY_PASSWORD.
//
// An event is decoded by its first byte:
//
//   C3 01 ...  Avro single-object encoding: BinaryMessageDecoder knowing only the
//              topic's .avsc (a wrong fingerprint fails, it does not decode differently);
//   00 ...     Confluent: the 4-byte big-endian ID after the magic byte, the writer
//              schema fetched from the registry by that ID (GET /schemas/ids/{id}, basic
//              auth), the body after the 5-byte header read with GenericDatumReader.
//
// It prints, TAB-separated, one line each:
//
//   event  <topic> <partition> <offset> <so | id=N> <the record as typed JSON (see typed)>
//   error  <topic> <partition> <offset> <what failed>
//   count  <topic> <events read>
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.avro.LogicalType;
import org.apache.avro.Schema;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

public class JavaEvents {
  static final JsonNodeFactory J = JsonNodeFactory.instance;
  static final ObjectMapper M = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  static final Map<Integer, Schema> BY_ID = new HashMap<>();

  public static void main(String[] args) throws Exception {
    // Java's own mapping of the logical types: Instants and LocalDates.
    GenericData model = new GenericData();
    model.addLogicalTypeConversion(new TimeConversions.TimestampMillisConversion());
    model.addLogicalTypeConversion(new TimeConversions.DateConversion());

    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("isolation.level", "read_committed"); // never an aborted window
    p.put("enable.auto.commit", "false");
    p.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    p.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p)) {
      for (String line : Files.readAllLines(Path.of(args[1]))) {
        if (line.isEmpty()) continue;
        String[] f = line.split("\t", -1);
        String topic = f[0];
        Schema local = new Schema.Parser().parse(new File(f[1]));
        BinaryMessageDecoder<GenericRecord> single = new BinaryMessageDecoder<>(model, local);
        List<TopicPartition> parts = new ArrayList<>();
        for (PartitionInfo pi : consumer.partitionsFor(topic, Duration.ofSeconds(30)))
          parts.add(new TopicPartition(topic, pi.partition()));
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
        // Under read_committed, the end offsets are the last stable offsets.
        Map<TopicPartition, Long> end = consumer.endOffsets(parts, Duration.ofSeconds(30));
        long n = 0;
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (!reached(consumer, end)) {
          if (System.nanoTime() > deadline) throw new IllegalStateException(topic + ": did not reach the end offsets " + end);
          for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
            n++;
            String where = r.topic() + "\t" + r.partition() + "\t" + r.offset();
            try {
              byte[] v = r.value();
              GenericRecord rec;
              String format;
              Schema schema;
              if (v.length >= 10 && (v[0] & 0xff) == 0xC3 && (v[1] & 0xff) == 0x01) {
                rec = single.decode(v);
                schema = local;
                format = "so";
              } else if (v.length >= 5 && v[0] == 0) {
                int id = ByteBuffer.wrap(v, 1, 4).getInt();
                schema = byID(id);
                GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(schema, schema, model);
                rec = reader.read(null, DecoderFactory.get().binaryDecoder(v, 5, v.length - 5, null));
                format = "id=" + id;
              } else {
                throw new IllegalStateException("neither wire format: first byte " + (v.length == 0 ? "none" : Integer.toHexString(v[0] & 0xff)));
              }
              System.out.printf("event\t%s\t%s\t%s%n", where, format, M.writeValueAsString(typed(model, schema, rec)));
            } catch (Exception e) {
              System.out.printf("error\t%s\t%s%n", where, String.valueOf(e).replaceAll("\\s+", " "));
            }
          }
        }
        System.out.printf("count\t%s\t%d%n", topic, n);
      }
    }
  }

  static boolean reached(KafkaConsumer<String, byte[]> c, Map<TopicPartition, Long> end) {
    for (Map.Entry<TopicPartition, Long> e : end.entrySet())
      if (c.position(e.getKey()) < e.getValue()) return false;
    return true;
  }

  // byID fetches a writer schema from the registry once per ID.
  static Schema byID(int id) throws Exception {
    Schema s = BY_ID.get(id);
    if (s != null) return s;
    String auth = Base64.getEncoder().encodeToString(
        (System.getenv("REGISTRY_USER") + ":" + System.getenv("REGISTRY_PASSWORD")).getBytes(StandardCharsets.UTF_8));
    HttpRequest req = HttpRequest.newBuilder(URI.create(System.getenv("REGISTRY_URL") + "/schemas/ids/" + id))
        .header("Authorization", "Basic " + auth).timeout(Duration.ofSeconds(15)).GET().build();
    HttpResponse<String> resp = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
    if (resp.statusCode() != 200) throw new IllegalStateException("GET /schemas/ids/" + id + ": HTTP " + resp.statusCode() + " " + resp.body());
    s = new Schema.Parser().parse(M.readTree(resp.body()).get("schema").asText());
    BY_ID.put(id, s);
    return s;
  }

  // typed is AvroCheck's typed JSON (testdata/javaavro/AvroCheck.java): a value that
  // says its Avro type, {"long":"12"}, {"double":"<IEEE 754 bits in hex>"},
  // {"timestamp-millis":"<epoch ms>"}, {"date":"<epoch day>"}, {"string":"..."}, null;
  // a record or a map is an object of its members; a union is its branch's value.
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
        return J.objectNode().put("string", ((CharSequence) v).toString());
      case BOOLEAN:
        return J.objectNode().put("boolean", (Boolean) v);
      case DOUBLE:
        return J.objectNode().put("double", String.format("%016x", Double.doubleToRawLongBits((Double) v)));
      case LONG:
        if (lt != null && lt.getName().equals("timestamp-millis"))
          return J.objectNode().put("timestamp-millis", Long.toString(((Instant) v).toEpochMilli()));
        if (lt != null) throw new IllegalStateException("unexpected logical type " + lt.getName());
        return J.objectNode().put("long", Long.toString((Long) v));
      case INT:
        if (lt != null && lt.getName().equals("date"))
          return J.objectNode().put("date", Long.toString(((LocalDate) v).toEpochDay()));
        if (lt != null) throw new IllegalStateException("unexpected logical type " + lt.getName());
        return J.objectNode().put("int", Integer.toString((Integer) v));
      default:
        throw new IllegalStateException("type " + s.getType() + " is not expected in these schemas");
    }
  }
}
