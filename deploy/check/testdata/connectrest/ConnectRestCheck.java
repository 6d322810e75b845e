import com.fasterxml.jackson.annotation.JacksonInject;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.InjectableValues;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.type.LogicalType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.connect.runtime.isolation.PluginType;
import org.apache.kafka.connect.runtime.rest.entities.ActiveTopicsInfo;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorInfo;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorOffset;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorOffsets;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorType;
import org.apache.kafka.connect.runtime.rest.entities.ErrorMessage;
import org.apache.kafka.connect.runtime.rest.entities.LoggerLevel;
import org.apache.kafka.connect.runtime.rest.entities.Message;
import org.apache.kafka.connect.runtime.rest.entities.PluginInfo;
import org.apache.kafka.connect.runtime.rest.entities.ServerInfo;
import org.apache.kafka.connect.runtime.rest.entities.TaskInfo;

/**
 * Reads the REST API's answers with Kafka Connect's own REST entity classes
 * (org.apache.kafka:connect-runtime), for deploy/check's TestConnectREST.
 *
 * <p>Argument: answers.tsv, lines of "id, entity, HTTP status, connector name, file". For
 * each answer it prints "ok\tid\tsummary" or "error\tid\tmessage". Answers are read
 * strictly: unknown properties fail (after the extensions source/restapi documents are
 * removed by path, each checked to be there with its documented type), scalars are not
 * coerced (a number where Connect has a string fails, and the other way round), null
 * for a primitive fails, and the members Connect clients rely on must be present.
 */
public class ConnectRestCheck {
  static final ObjectMapper MAPPER = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
      .addMixIn(ActiveTopicsInfo.class, ActiveTopicsInfoMixIn.class)
      .build();

  /**
   * Connect's ActiveTopicsInfo names only its second creator argument ("topics"): the
   * connector is the key of the map Connect answers, and Connect itself only writes the
   * class, so plain Jackson cannot build it. This mix-in injects the key as the
   * connector; "topics" is read as Connect declares it.
   */
  abstract static class ActiveTopicsInfoMixIn {
    @JsonCreator
    ActiveTopicsInfoMixIn(@JacksonInject("connector") String connector, @JsonProperty("topics") Collection<String> topics) {}
  }

  static {
    // A string member given a number or boolean fails, and so does a number given a string.
    MAPPER.coercionConfigFor(LogicalType.Textual)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
    MAPPER.coercionConfigFor(LogicalType.Integer)
        .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
    MAPPER.coercionConfigFor(LogicalType.Boolean)
        .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail);
  }

  /** The states Connect's AbstractState takes. */
  static final Set<String> STATES = Set.of("UNASSIGNED", "RUNNING", "PAUSED", "STOPPED", "FAILED", "RESTARTING");

  static final class CheckFailed extends Exception {
    CheckFailed(String msg) {
      super(msg);
    }
  }

  static void require(boolean ok, String what) throws CheckFailed {
    if (!ok) {
      throw new CheckFailed(what);
    }
  }

  /** Removes an extension member, which must be there and of the documented kind. */
  static void dropExtension(JsonNode parent, String where, String member, String kind) throws CheckFailed {
    require(parent != null && parent.isObject(), where + " is not an object");
    JsonNode v = parent.get(member);
    require(v != null, where + ": the documented extension \"" + member + "\" is missing");
    boolean typed = switch (kind) {
      case "array" -> v.isArray();
      case "object" -> v.isObject();
      case "string" -> v.isTextual();
      case "string-or-null" -> v.isTextual() || v.isNull();
      default -> false;
    };
    require(typed, where + "." + member + " is " + v.getNodeType() + ", documented as " + kind);
    ((ObjectNode) parent).remove(member);
  }

  static <T> T read(JsonNode node, TypeReference<T> type) throws Exception {
    return MAPPER.readerFor(type).readValue(node);
  }

  static <T> T read(JsonNode node, Class<T> type) throws Exception {
    return MAPPER.readerFor(type).readValue(node);
  }

  static ConnectorStateInfo status(JsonNode node, String name, String where) throws Exception {
    dropExtension(node, where, "quota", "object");
    dropExtension(node, where, "producer_memory", "object");
    JsonNode reports = node.get("reports");
    dropExtension(node, where, "reports", "array");
    JsonNode connector = node.get("connector");
    dropExtension(connector, where + ".connector", "wolkvox_state", "string");
    dropExtension(connector, where + ".connector", "last_error", "string-or-null");
    dropExtension(connector, where + ".connector", "next_retry", "string-or-null");
    ConnectorStateInfo st = read(node, ConnectorStateInfo.class);
    require(name.equals(st.name()), where + ": name " + st.name() + ", want " + name);
    require(st.connector() != null, where + ": no connector");
    require(st.connector().state() != null && STATES.contains(st.connector().state()),
        where + ": connector.state " + st.connector().state() + " is not one of Connect's " + new TreeSet<>(STATES));
    require(st.connector().workerId() != null && !st.connector().workerId().isEmpty(), where + ": connector.worker_id missing");
    require(st.tasks() != null && !st.tasks().isEmpty(), where + ": no tasks");
    for (int i = 0; i < st.tasks().size(); i++) {
      checkTask(st.tasks().get(i), i, where + ".tasks[" + i + "]");
    }
    require(reports.size() == st.tasks().size(), where + ": " + reports.size() + " reports for " + st.tasks().size() + " tasks (reports[N] is task N)");
    require(st.type() == ConnectorType.SOURCE, where + ": type " + st.type() + ", want source");
    return st;
  }

  static void checkTask(ConnectorStateInfo.TaskState t, int id, String where) throws CheckFailed {
    require(t.id() == id, where + ": id " + t.id() + ", want " + id);
    require(t.state() != null && STATES.contains(t.state()), where + ": state " + t.state() + " is not one of Connect's");
    require(t.workerId() != null && !t.workerId().isEmpty(), where + ": worker_id missing");
  }

  static ConnectorInfo info(JsonNode node, String name, String where) throws Exception {
    dropExtension(node, where, "reports", "array");
    dropExtension(node, where, "topics", "object");
    ConnectorInfo info = read(node, ConnectorInfo.class);
    require(name.equals(info.name()), where + ": name " + info.name() + ", want " + name);
    checkConfig(info.config(), name, where + ".config");
    require(info.tasks() != null && !info.tasks().isEmpty(), where + ": no tasks");
    for (int i = 0; i < info.tasks().size(); i++) {
      require(name.equals(info.tasks().get(i).connector()) && info.tasks().get(i).task() == i,
          where + ".tasks[" + i + "] is " + info.tasks().get(i) + ", want " + name + "-" + i);
    }
    require(String.valueOf(info.tasks().size()).equals(info.config().get("tasks.max")),
        where + ": " + info.tasks().size() + " tasks, tasks.max " + info.config().get("tasks.max"));
    require(info.type() == ConnectorType.SOURCE, where + ": type " + info.type() + ", want source");
    return info;
  }

  static void checkConfig(Map<String, String> config, String name, String where) throws CheckFailed {
    require(config != null, where + " missing");
    for (String k : List.of("connector.class", "tasks.max", "name")) {
      require(config.get(k) != null, where + ": no " + k);
    }
    require(name.equals(config.get("name")), where + ": name " + config.get("name"));
  }

  /** Checks one answer and returns a summary of what it read. */
  static String check(String entity, int status, String name, JsonNode node) throws Exception {
    switch (entity) {
      case "ServerInfo": {
        ServerInfo s = read(node, ServerInfo.class);
        require(s.version() != null, "no version");
        return "version=" + s.version() + " commit=" + s.commit() + " kafka_cluster_id=" + s.clusterId();
      }
      case "Names": {
        List<String> names = read(node, new TypeReference<List<String>>() {});
        require(names.contains(name), "the connectors " + names + " do not include " + name);
        return names.toString();
      }
      case "LoggerNames": {
        List<String> names = read(node, new TypeReference<List<String>>() {});
        require(names.equals(List.of("root")), "loggers changed " + names + ", want [root]");
        return names.toString();
      }
      case "ExpandStatus":
      case "ExpandInfo":
      case "ExpandBoth": {
        Map<String, Map<String, JsonNode>> m = read(node, new TypeReference<Map<String, Map<String, JsonNode>>>() {});
        require(m.containsKey(name), "no entry for " + name + " among " + m.keySet());
        Set<String> want = switch (entity) {
          case "ExpandStatus" -> Set.of("status");
          case "ExpandInfo" -> Set.of("info");
          default -> Set.of("status", "info");
        };
        for (Map.Entry<String, Map<String, JsonNode>> e : m.entrySet()) {
          require(e.getValue().keySet().equals(want), e.getKey() + " has " + e.getValue().keySet() + ", want " + want);
          if (e.getValue().containsKey("status")) {
            status(e.getValue().get("status"), e.getKey(), e.getKey() + ".status");
          }
          if (e.getValue().containsKey("info")) {
            info(e.getValue().get("info"), e.getKey(), e.getKey() + ".info");
          }
        }
        return m.size() + " connectors with " + new TreeSet<>(want);
      }
      case "ConnectorInfo": {
        ConnectorInfo info = info(node, name, "info");
        return info.tasks().size() + " tasks";
      }
      case "Config": {
        Map<String, String> config = read(node, new TypeReference<Map<String, String>>() {});
        checkConfig(config, name, "config");
        return config.size() + " entries";
      }
      case "ConnectorStateInfo": {
        ConnectorStateInfo st = status(node, name, "status");
        return st.connector().state() + " on " + st.connector().workerId() + ", " + st.tasks().size() + " tasks";
      }
      case "TaskInfos": {
        List<TaskInfo> tasks = read(node, new TypeReference<List<TaskInfo>>() {});
        require(!tasks.isEmpty(), "no tasks");
        for (int i = 0; i < tasks.size(); i++) {
          TaskInfo t = tasks.get(i);
          require(t.id() != null && name.equals(t.id().connector()) && t.id().task() == i, "tasks[" + i + "].id is " + t.id());
          require(t.config() != null && t.config().get("topic") != null, "tasks[" + i + "].config has no topic");
        }
        return tasks.size() + " tasks";
      }
      case "TaskState": {
        ConnectorStateInfo.TaskState t = read(node, ConnectorStateInfo.TaskState.class);
        checkTask(t, t.id(), "task");
        return "task " + t.id() + " " + t.state();
      }
      case "ActiveTopics":
      case "ActiveTopicsNonEmpty": {
        require(node.isObject() && node.size() == 1 && node.has(name), "active topics not {\"" + name + "\": {...}}: " + node);
        ActiveTopicsInfo a = MAPPER.readerFor(ActiveTopicsInfo.class)
            .with(new InjectableValues.Std().addValue("connector", name))
            .readValue(node.get(name));
        require(name.equals(a.connector()), "connector " + a.connector());
        require(a.topics() != null, "no topics member");
        require(!entity.equals("ActiveTopicsNonEmpty") || !a.topics().isEmpty(), "no active topic after rows were delivered");
        return a.topics().toString();
      }
      case "ConnectorOffsets": {
        int errors = 0;
        for (Iterator<JsonNode> it = node.path("offsets").elements(); it.hasNext(); ) {
          JsonNode o = it.next();
          if (o.has("error")) {
            dropExtension(o, "offsets[]", "error", "string");
            errors++;
          }
        }
        ConnectorOffsets offs = read(node, ConnectorOffsets.class);
        require(offs.offsets() != null && !offs.offsets().isEmpty(), "no offsets after rows were delivered");
        for (ConnectorOffset o : offs.offsets()) {
          require(o.partition() != null && o.partition().get("server") instanceof String && o.partition().get("report") instanceof String,
              "partition " + o.partition() + " lacks server or report");
          require(o.offset() != null || errors > 0, "offset of " + o.partition() + " is null without an error");
        }
        return offs.offsets().size() + " offsets";
      }
      case "PluginInfos": {
        List<PluginInfo> plugins = read(node, new TypeReference<List<PluginInfo>>() {});
        require(!plugins.isEmpty(), "no plugins");
        for (PluginInfo p : plugins) {
          require(p.className() != null && p.type() == PluginType.SOURCE && p.version() != null, "plugin " + p);
        }
        return plugins.toString();
      }
      case "Loggers": {
        Map<String, LoggerLevel> m = read(node, new TypeReference<Map<String, LoggerLevel>>() {});
        require(m.get("root") != null && m.get("root").level() != null, "no root logger level in " + m);
        return m.toString();
      }
      case "LoggerLevel":
      case "LoggerLevelModified": {
        LoggerLevel l = read(node, LoggerLevel.class);
        require(l.level() != null, "no level");
        require(!entity.equals("LoggerLevelModified") || (l.lastModified() != null && "DEBUG".equals(l.level())),
            "after PUT DEBUG: " + l);
        return l.toString();
      }
      case "Message": {
        Message m = read(node, Message.class);
        require(m.message() != null && !m.message().isEmpty(), "no message");
        return m.message();
      }
      case "ErrorMessage": {
        ErrorMessage e = read(node, ErrorMessage.class);
        require(e.errorCode() == status, "error_code " + e.errorCode() + " for HTTP " + status);
        require(e.message() != null && !e.message().isEmpty(), "no message");
        return e.errorCode() + " " + e.message();
      }
      default:
        throw new CheckFailed("no check for entity " + entity);
    }
  }

  public static void main(String[] args) throws Exception {
    List<String> out = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(args[0]))) {
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split("\t", 5);
      String id = f[0];
      try {
        JsonNode node = MAPPER.readTree(Files.readAllBytes(Path.of(f[4])));
        out.add("ok\t" + id + "\t" + check(f[1], Integer.parseInt(f[2]), f[3], node).replace('\n', ' ').replace('\t', ' '));
      } catch (Exception e) {
        String msg = e.getClass().getSimpleName() + ": " + e.getMessage();
        out.add("error\t" + id + "\t" + msg.replace('\n', ' ').replace('\t', ' '));
      }
    }
    out.forEach(System.out::println);
  }
}
