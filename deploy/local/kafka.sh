#!/usr/bin/env bash
# kafka.sh: a real, single-node Apache Kafka broker for the integration tests, from Maven
# Central jars (no tarball, no Docker).
#
#   deploy/local/kafka.sh start    fetch the jars (once), start a broker, wait until it serves,
#                                  print its bootstrap address (127.0.0.1:PORT) on stdout
#   deploy/local/kafka.sh env      print: export WOLKVOX_TEST_KAFKA=127.0.0.1:PORT
#   deploy/local/kafka.sh status   print pid, address, data dir and memory; exit 3 if not running
#   deploy/local/kafka.sh stop     stop the broker and delete its data; no-op if none runs
#   deploy/local/kafka.sh restart  stop the broker (TERM) and start it again on the same
#                                  ports and data: what a broker restart test needs
#
# Choices:
# - Kafka version: the one pinned in deploy/local/pom.xml (4.3.1, the newest 4.x release that
#   resolves completely from Central; the pom says why 4.4.0 does not).
# - Jars go to .cache/kafka-<version>/libs in the repository (git-ignored) and are reused; a
#   marker holding the pom's checksum makes an interrupted or outdated download run again.
# - Each start formats a fresh temp dir (mktemp) and picks free ports, so nothing survives a
#   stop and several checkouts can run brokers side by side.
# - start while the recorded broker is alive reuses it: it prints the same address and exits 0
#   (make test and a developer's shell can share one broker). A stale state file (its process
#   is gone) is cleaned up and a new broker starts.
# - start and stop hold a lock (flock on $CACHE/lock), so two callers at once (two engineers,
#   make test and a shell) never start two brokers for one state file.
# - Readiness is not an open port: deploy/local/kafkaready must get broker metadata AND a
#   transactional producer ID (which needs __transaction_state) within KAFKA_READY_TIMEOUT.
#
# Environment: KAFKA_INSTANCE (a name: a second, independent broker with its own state
# file, e.g. for a test that restarts its broker without disturbing the shared one),
# KAFKA_HEAP_OPTS (default -Xms64m -Xmx384m), KAFKA_READY_TIMEOUT (default 60s),
# MVN_ARGS (extra mvn arguments, e.g. -Dmaven.repo.local=/some/dir).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")
CACHE="$ROOT/.cache/kafka-$KAFKA_VERSION"
LIBS="$CACHE/libs"
STATE="$CACHE/state${KAFKA_INSTANCE:+.$KAFKA_INSTANCE}"
ENV_VAR=WOLKVOX_TEST_KAFKA
cp="$LIBS/*" # quoted on use: the JVM expands the wildcard, not the shell
# SerialGC and C1-only JIT: on 2 cores they start faster and use less memory than G1/C2,
# and a test broker never runs long enough to profit from C2.
# shellcheck disable=SC2206 # KAFKA_HEAP_OPTS is a list of JVM flags, split on purpose
jopts=(${KAFKA_HEAP_OPTS:--Xms64m -Xmx384m} -XX:+UseSerialGC -XX:TieredStopAtLevel=1
	-Djava.awt.headless=true "-Dlog4j2.configurationFile=$HERE/log4j2.properties")

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# fetch_jars copies the broker's runtime jars into $LIBS unless the marker says they are
# already there for this exact pom.
fetch_jars() {
	local sum
	sum=$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)
	if [[ -f "$LIBS/.complete" && $(cat "$LIBS/.complete") == "$sum" ]]; then
		return
	fi
	command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
	command -v java >/dev/null || die "java not found: Kafka 4.x needs Java 17+"
	log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
	local t0
	t0=$(date +%s%N)
	rm -rf "$LIBS"
	mkdir -p "$LIBS"
	# -B: no stdin, no progress bars (CI); copy-dependencies resolves the full runtime closure.
	# Its output is kept for a failure only: a quiet run still prints terminal reset codes.
	# shellcheck disable=SC2086 # MVN_ARGS is a list of words on purpose
	if ! mvn -B -q -Dstyle.color=never ${MVN_ARGS:-} -f "$HERE/pom.xml" \
		dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS" </dev/null >"$CACHE/mvn.log" 2>&1; then
		cat "$CACHE/mvn.log" >&2
		die "mvn could not fetch the Kafka jars (Maven Central reachable? see above)"
	fi
	echo "$sum" >"$LIBS/.complete"
	log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) in $((($(date +%s%N) - t0) / 1000000))ms"
}

# free_ports prints two distinct TCP ports nobody listens on. Holding both sockets open
# until both are chosen keeps the OS from handing out the same port twice.
free_ports() {
	if command -v python3 >/dev/null && python3 -c 'import socket' 2>/dev/null; then
		python3 - <<'PY'
import socket
socks = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
		return
	fi
	# Fallback without python: random ports in the dynamic range that refuse a connection.
	local ports=() p
	while ((${#ports[@]} < 2)); do
		p=$((49152 + RANDOM % 16000))
		[[ " ${ports[*]-} " == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			ports+=("$p")
		fi
	done
	echo "${ports[@]}"
}

# read_state loads PID, DIR and ADDR from the state file; it fails if there is none.
read_state() {
	[[ -f "$STATE" ]] || return 1
	PID=$(sed -n 's/^PID=//p' "$STATE")
	DIR=$(sed -n 's/^DIR=//p' "$STATE")
	ADDR=$(sed -n 's/^ADDR=//p' "$STATE")
	[[ -n "$PID" && -n "$DIR" && -n "$ADDR" ]]
}

# alive reports whether PID is still our broker: the pid must exist and its command line
# must name kafka.Kafka and our data dir, so a recycled pid is never mistaken for it.
alive() {
	[[ -r "/proc/$PID/cmdline" ]] || return 1
	local cmd
	cmd=$(tr '\0' ' ' <"/proc/$PID/cmdline" 2>/dev/null) || return 1
	[[ "$cmd" == *kafka.Kafka* && "$cmd" == *"$DIR"* ]]
}

# memory prints the broker's current and peak resident set size.
memory() {
	awk '/^VmRSS|^VmHWM/ {printf "%s %d MiB  ", $1, $2/1024} END {print ""}' "/proc/$PID/status" 2>/dev/null || true
}

# signal_and_wait sends signal $1 to the broker and waits up to $2 seconds for it to be
# gone; it fails if the broker is still alive then.
signal_and_wait() {
	kill "-$1" "$PID" 2>/dev/null || true
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		alive || return 0
		sleep 0.1
	done
	! alive
}

# cleanup_dir deletes a broker data dir, but only one that this script made.
cleanup_dir() {
	if [[ -n "${1:-}" && -d "$1" && "$(basename "$1")" == wolkvox-kafka.* ]]; then
		rm -rf "$1"
	fi
}

# launch starts the broker formatted in $DIR and waits until it serves; on failure it prints
# the broker's log, stops it and exits 1.
launch() {
	local readytimeout
	# Detached from our stdin/stdout so callers (make, CI) never wait on the broker's pipes.
	# 9>&-: the broker must not inherit the lock, or it would hold it for its whole life.
	java "${jopts[@]}" -cp "$cp" kafka.Kafka "$DIR/server.properties" </dev/null >"$DIR/kafka.log" 2>&1 9>&- &
	PID=$!
	disown "$PID" 2>/dev/null || true
	printf 'PID=%s\nDIR=%s\nADDR=%s\nVERSION=%s\n' "$PID" "$DIR" "$ADDR" "$KAFKA_VERSION" >"$STATE"

	readytimeout=${KAFKA_READY_TIMEOUT:-60s}
	if ! "$CACHE/bin/kafkaready" -addr "$ADDR" -pid "$PID" -timeout "$readytimeout"; then
		log "broker $ADDR is not ready; its log ($DIR/kafka.log):"
		tail -n 200 "$DIR/kafka.log" >&2 || true
		cmd_stop >/dev/null 2>&1 || true
		exit 1
	fi
}

cmd_start() {
	if read_state; then
		if alive; then
			log "reusing the running broker (pid $PID)"
			echo "$ADDR"
			return
		fi
		log "removing stale state of a broker that is gone (pid $PID)"
		cleanup_dir "$DIR"
		rm -f "$STATE"
	fi
	local t0 port="" cport=""
	t0=$(date +%s%N)
	fetch_jars
	mkdir -p "$CACHE/bin"
	# Built every time (the Go build cache makes it cheap) so it never runs stale code.
	(cd "$ROOT" && go build -o "$CACHE/bin/kafkaready" ./deploy/local/kafkaready) ||
		die "cannot build deploy/local/kafkaready"

	read -r port cport < <(free_ports) || true
	[[ "$port" =~ ^[0-9]+$ && "$cport" =~ ^[0-9]+$ ]] || die "could not find two free ports"
	DIR=$(mktemp -d "${TMPDIR:-/tmp}/wolkvox-kafka.XXXXXX")
	ADDR="127.0.0.1:$port"
	sed -e "s#@PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$cport#g" -e "s#@DATA_DIR@#$DIR/data#g" \
		"$HERE/server.properties.tmpl" >"$DIR/server.properties"

	# Any stable base64url UUID would do; a fresh one per start keeps runs independent.
	if ! java "${jopts[@]}" -cp "$cp" kafka.tools.StorageTool format \
		-t "$(java -cp "$cp" kafka.tools.StorageTool random-uuid)" \
		-c "$DIR/server.properties" >"$DIR/format.log" 2>&1; then
		cat "$DIR/format.log" >&2
		cleanup_dir "$DIR"
		die "formatting KRaft storage failed"
	fi

	launch
	log "Apache Kafka $KAFKA_VERSION ready at $ADDR (pid $PID) in $(((($(date +%s%N) - t0) / 1000000)))ms"
	echo "$ADDR"
}

cmd_stop() {
	if ! read_state; then
		log "no broker recorded in $STATE: nothing to stop"
		return
	fi
	if alive; then
		log "stopping pid $PID; $(memory)"
		# A single node shuts down in a few seconds; after 10 s we stop asking.
		if ! signal_and_wait TERM 10; then
			log "pid $PID ignored TERM for 10s: sending KILL"
			signal_and_wait KILL 5 || die "pid $PID survived KILL"
		fi
	else
		log "broker pid $PID is already gone"
	fi
	cleanup_dir "$DIR"
	rm -f "$STATE"
	log "stopped"
}

# cmd_restart stops the broker with TERM (a controlled shutdown) and starts it again on the
# same ports and data, so clients see a broker that went away and came back.
cmd_restart() {
	read_state && alive || die "no broker is running: start one with deploy/local/kafka.sh start"
	local t0
	t0=$(date +%s%N)
	signal_and_wait TERM 20 || die "pid $PID did not stop within 20s"
	launch
	log "broker restarted at $ADDR (pid $PID) in $(((($(date +%s%N) - t0) / 1000000)))ms"
	echo "$ADDR"
}

cmd_env() {
	read_state && alive || die "no broker is running: start one with deploy/local/kafka.sh start"
	echo "export $ENV_VAR=$ADDR"
}

cmd_status() {
	if read_state && alive; then
		echo "running: pid $PID, address $ADDR, data $DIR, Kafka $KAFKA_VERSION"
		echo "memory: $(memory)"
		return
	fi
	echo "not running"
	exit 3
}

# lock serialises start and stop across processes; the lock is released when this script exits.
lock() {
	mkdir -p "$CACHE"
	exec 9>"$CACHE/lock"
	flock 9
}

case "${1:-}" in
start)
	lock
	cmd_start
	;;
stop)
	lock
	cmd_stop
	;;
restart)
	lock
	cmd_restart
	;;
env) cmd_env ;;
status) cmd_status ;;
*)
	echo "usage: $0 start|stop|restart|env|status" >&2
	exit 2
	;;
esac
