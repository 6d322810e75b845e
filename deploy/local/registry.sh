#!/usr/bin/env bash
# registry.sh: a real, Confluent-compatible Schema Registry for the integration tests:
# Apicurio Registry 2.4.2.Final (its ccompat API), built from Maven Central jars (no
# Docker), with HTTP basic auth on and one test user.
#
#   deploy/local/registry.sh start    build the registry (once), start it, wait until it
#                                     answers an authenticated request, print its URL on
#                                     stdout: http://USER:PASSWORD@127.0.0.1:PORT/apis/ccompat/v7
#   deploy/local/registry.sh env      print: export WOLKVOX_TEST_REGISTRY=<that URL>
#   deploy/local/registry.sh status   print pid, URL (without the password) and memory;
#                                     exit 3 if not running
#   deploy/local/registry.sh stop     stop the registry; no-op if none runs
#   deploy/local/registry.sh restart  stop it (TERM) and start it again on the same port:
#                                     its storage is in memory, so every schema is gone
#                                     afterwards (what the registry restart test needs)
#
# Choices:
# - Apicurio, not Confluent's registry: Confluent's is not on Maven Central. The pom in
#   deploy/local/registry/ says why each version is pinned; settings.xml sends every
#   repository Apicurio's parent pom names to Maven Central.
# - Built once into .cache/registry-<version>/ (git-ignored): a marker holding the
#   checksum of the pom and settings.xml makes an interrupted or outdated build run again.
#   A cold build downloads about 230 MB into ~/.m2 (or MVN_ARGS' repository) and takes
#   about 1-3 minutes; the output is about 130 MB.
# - In-memory storage: nothing survives a stop or a restart, and schema IDs start again
#   at 1. Each start picks a free port, so several checkouts can run registries side by side.
# - Basic auth on every /apis/* path; the user is REGISTRY_USER / REGISTRY_PASSWORD
#   (default wolkvox-test / wolkvox-test-password: a throwaway test credential).
# - Readiness is polled, never slept: the registry must answer an authenticated
#   GET /subjects with 200 and an unauthenticated one with 401 (auth really on), within
#   REGISTRY_READY_TIMEOUT seconds (default 90: 3.5-5 s idle, up to ~15 s on a loaded machine).
# - start while the recorded registry is alive reuses it; start and stop hold a lock.
#
# Environment: REGISTRY_INSTANCE (a name: a second, independent registry with its own
# state file, e.g. for a test that restarts it without disturbing the shared one),
# REGISTRY_HEAP_OPTS (default -Xmx256m), REGISTRY_USER, REGISTRY_PASSWORD,
# REGISTRY_READY_TIMEOUT, MVN_ARGS (extra mvn arguments, e.g. -Dmaven.repo.local=/some/dir).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
POM="$HERE/registry/pom.xml"
SETTINGS="$HERE/registry/settings.xml"
VERSION=$(sed -n 's:.*<apicurio.version>\(.*\)</apicurio.version>.*:\1:p' "$POM")
CACHE="$ROOT/.cache/registry-$VERSION"
BUILD="$CACHE/build"
JAR="$BUILD/target/apicurio-runner-auth-1-runner.jar"
STATE="$CACHE/state${REGISTRY_INSTANCE:+.$REGISTRY_INSTANCE}"
ENV_VAR=WOLKVOX_TEST_REGISTRY
API=/apis/ccompat/v7
USER_NAME=${REGISTRY_USER:-wolkvox-test}
PASSWORD=${REGISTRY_PASSWORD:-wolkvox-test-password}
# SerialGC and C1 only: faster start and less memory on 2 cores, as for the broker.
# shellcheck disable=SC2206 # REGISTRY_HEAP_OPTS is a list of JVM flags, split on purpose
jopts=(${REGISTRY_HEAP_OPTS:--Xmx256m} -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true)

log() { printf 'registry.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# build makes the runner jar unless the marker says it was built from this exact pom.
build() {
	local sum
	sum=$(cat "$POM" "$SETTINGS" | sha256sum | cut -d' ' -f1)
	if [[ -f "$BUILD/.complete" && $(cat "$BUILD/.complete") == "$sum" && -f "$JAR" ]]; then
		return
	fi
	command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
	command -v java >/dev/null || die "java not found: the registry needs Java 17+"
	log "building Apicurio Registry $VERSION from Maven Central into $BUILD (once)"
	local t0
	t0=$(date +%s%N)
	rm -rf "$BUILD"
	mkdir -p "$BUILD"
	cp "$POM" "$SETTINGS" "$BUILD/"
	# shellcheck disable=SC2086 # MVN_ARGS is a list of words on purpose
	if ! mvn -B -q -Dstyle.color=never -s "$BUILD/settings.xml" ${MVN_ARGS:-} -f "$BUILD/pom.xml" \
		-DskipTests package </dev/null >"$CACHE/mvn.log" 2>&1; then
		tail -n 60 "$CACHE/mvn.log" >&2
		die "mvn could not build the registry (Maven Central reachable? see above and $CACHE/mvn.log)"
	fi
	[[ -f "$JAR" ]] || die "the build made no $JAR"
	echo "$sum" >"$BUILD/.complete"
	log "built in $((($(date +%s%N) - t0) / 1000000))ms ($(du -sh "$BUILD/target" | cut -f1))"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# read_state loads PID, PORT and LOGFILE from the state file; it fails if there is none.
read_state() {
	[[ -f "$STATE" ]] || return 1
	PID=$(sed -n 's/^PID=//p' "$STATE")
	PORT=$(sed -n 's/^PORT=//p' "$STATE")
	LOGFILE=$(sed -n 's/^LOG=//p' "$STATE")
	[[ -n "$PID" && -n "$PORT" && -n "$LOGFILE" ]]
}

# alive reports whether PID is still our registry (a recycled pid is never taken for it).
alive() {
	[[ -r "/proc/$PID/cmdline" ]] || return 1
	local cmd
	cmd=$(tr '\0' ' ' <"/proc/$PID/cmdline" 2>/dev/null) || return 1
	[[ "$cmd" == *"$JAR"* && "$cmd" == *"quarkus.http.port=$PORT "* ]]
}

memory() {
	awk '/^VmRSS|^VmHWM/ {printf "%s %d MiB  ", $1, $2/1024} END {print ""}' "/proc/$PID/status" 2>/dev/null || true
}

signal_and_wait() {
	kill "-$1" "$PID" 2>/dev/null || true
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		alive || return 0
		sleep 0.1
	done
	! alive
}

# status_of prints the HTTP status of GET /subjects, with credentials or without.
status_of() {
	local auth=()
	[[ "$1" == auth ]] && auth=(-u "$USER_NAME:$PASSWORD")
	curl -s -o /dev/null -w '%{http_code}' --max-time 3 "${auth[@]}" "http://127.0.0.1:$PORT$API/subjects" || true
}

# launch starts the registry on $PORT and polls until it serves; on failure it prints the
# registry's log, stops it and exits 1.
launch() {
	local t0 deadline
	t0=$(date +%s%N)
	# Detached from our stdin/stdout; 9>&-: the registry must not inherit the lock.
	java "${jopts[@]}" -Dquarkus.http.host=127.0.0.1 "-Dquarkus.http.port=$PORT" \
		"-Dquarkus.security.users.embedded.users.$USER_NAME=$PASSWORD" \
		-Dquarkus.log.level=WARN -Dquarkus.banner.enabled=false \
		-jar "$JAR" </dev/null >"$LOGFILE" 2>&1 9>&- &
	PID=$!
	disown "$PID" 2>/dev/null || true
	printf 'PID=%s\nPORT=%s\nLOG=%s\nVERSION=%s\n' "$PID" "$PORT" "$LOGFILE" "$VERSION" >"$STATE"
	deadline=$(($(date +%s) + ${REGISTRY_READY_TIMEOUT:-90}))
	local with="" without=""
	while :; do
		alive || { tail -n 100 "$LOGFILE" >&2; rm -f "$STATE"; die "the registry exited during startup; its log is above"; }
		with=$(status_of auth)
		if [[ "$with" == 200 ]]; then
			without=$(status_of none)
			[[ "$without" == 401 ]] && break
			cmd_stop >/dev/null 2>&1 || true
			die "the registry answers an unauthenticated request with $without, not 401: basic auth is off"
		fi
		if (($(date +%s) >= deadline)); then
			tail -n 100 "$LOGFILE" >&2 || true
			cmd_stop >/dev/null 2>&1 || true
			die "the registry did not answer within ${REGISTRY_READY_TIMEOUT:-90}s (last status $with)"
		fi
		sleep 0.2
	done
	log "Apicurio Registry $VERSION ready on port $PORT (pid $PID) in $((($(date +%s%N) - t0) / 1000000))ms"
}

url() { echo "http://$USER_NAME:$PASSWORD@127.0.0.1:$PORT$API"; }

cmd_start() {
	if read_state; then
		if alive; then
			log "reusing the running registry (pid $PID)"
			url
			return
		fi
		log "removing stale state of a registry that is gone (pid $PID)"
		rm -f "$STATE" "$LOGFILE"
	fi
	command -v curl >/dev/null || die "curl not found: registry.sh polls the registry with it"
	build
	PORT=$(free_port) || die "could not find a free port"
	LOGFILE=$(mktemp "${TMPDIR:-/tmp}/wolkvox-registry.XXXXXX.log")
	launch
	url
}

cmd_stop() {
	if ! read_state; then
		log "no registry recorded in $STATE: nothing to stop"
		return
	fi
	if alive; then
		log "stopping pid $PID; $(memory)"
		if ! signal_and_wait TERM 10; then
			log "pid $PID ignored TERM for 10s: sending KILL"
			signal_and_wait KILL 5 || die "pid $PID survived KILL"
		fi
	else
		log "registry pid $PID is already gone"
	fi
	[[ "$(basename "$LOGFILE")" == wolkvox-registry.* ]] && rm -f "$LOGFILE"
	rm -f "$STATE"
	log "stopped"
}

cmd_restart() {
	read_state && alive || die "no registry is running: start one with deploy/local/registry.sh start"
	local t0
	t0=$(date +%s%N)
	signal_and_wait TERM 20 || die "pid $PID did not stop within 20s"
	launch
	log "registry restarted on port $PORT (pid $PID) in $((($(date +%s%N) - t0) / 1000000))ms; its schemas are gone"
	url
}

cmd_env() {
	read_state && alive || die "no registry is running: start one with deploy/local/registry.sh start"
	echo "export $ENV_VAR=$(url)"
}

cmd_status() {
	if read_state && alive; then
		echo "running: pid $PID, http://$USER_NAME:***@127.0.0.1:$PORT$API, Apicurio Registry $VERSION"
		echo "memory: $(memory)"
		return
	fi
	echo "not running"
	exit 3
}

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
