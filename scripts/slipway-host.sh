#!/bin/sh
# slipway-host.sh - switch, restart and check the releases of one app on one host.
#
# The same file runs on an EC2 instance (the SSM Command document invokes it
# after downloading the artifact) and on every instance of Slipway's embedded
# fleet (internal/fleet). It is POSIX sh and passes `shellcheck -s sh`.
#
# Usage:
#   slipway-host.sh activate VERSION ARTIFACT SHA256
#       Verify ARTIFACT (a local .tar.gz) against SHA256, unpack it into
#       releases/VERSION, switch `current` to it, restart the app and wait for
#       its local health endpoint to report VERSION. If `current` already is
#       a complete releases/VERSION installed from the same SHA256 and the
#       app answers healthily with VERSION, change nothing (no restart). If it
#       is current but not healthy (the app died, or still runs another
#       release), restart it and wait for health ("restarted":true). If it was
#       installed from other bytes (a republished version), install it again
#       and restart.
#       A failed health check does NOT switch back: the orchestrator decides
#       and issues `rollback`.
#       With SLIPWAY_CONFIG_FINGERPRINT set (the release declares a config:
#       section), the release runs with that configuration: the file
#       releases/VERSION/config/FINGERPRINT.env, written before anything
#       switches by the resolver (SLIPWAY_CONFIG_RESOLVER) unless it is on
#       the host already, and releases/VERSION/app.env pointed at it. The
#       no-op above then also needs the configuration to be the current
#       one; the same release with another configuration is restarted with
#       it (a configuration-only deployment).
#   slipway-host.sh rollback [VERSION]
#       Switch `current` to VERSION (default: the content of `previous`),
#       restart with that release's own release.env and wait for health.
#       No download, no unpack. Rolling back to the current release changes
#       nothing when it is healthy and, like activate, restarts it when not.
#       With SLIPWAY_CONFIG_FINGERPRINT set, VERSION runs with that
#       configuration (kept on the host since it was activated with it); the
#       current release with another configuration is restarted with it.
#       Without it, VERSION runs with the configuration it last ran with.
#   slipway-host.sh status
#       Print {"action":"status","current":..,"previous":..,"releases":[..],"root":..,
#       "sha256":..,"config":..,"serving":..,"healthy":..,"health":..,"busy":..,
#       "disk_free_kb":..,"inodes_free":..,"mem_available_kb":..}.
#       "releases" lists the complete releases by install time, oldest first;
#       "sha256" is the current release's artifact checksum; "config" the
#       fingerprint of the configuration it runs with ("" for none); "serving" is the
#       version the app's local health endpoint answers (probed once with the
#       current release's own health settings), "healthy" whether it answered
#       the expected status with the current version, "health" what was wrong.
#       Status waits for a running activate or rollback to finish (up to
#       SLIPWAY_STATUS_WAIT seconds, 90) so that it reports a settled host;
#       if it cannot, it reports "busy":true. "disk_free_kb" and
#       "inodes_free" are what the file system of $SLIPWAY_ROOT has free,
#       "mem_available_kb" the host's MemAvailable; null when unknown.
#   slipway-host.sh hook NAME VERSION
#       Run hook NAME (before_traffic or after_traffic) of release VERSION,
#       which must be current, as activate runs the others: in the release
#       directory, with its environment and timeout, its output prefixed
#       "hook NAME: ". The orchestrator sends it where traffic is switched
#       (a blue/green side before its first shift and after its last; an
#       in-place wave before it is registered again and once in service).
#       A release without that hook succeeds at once. Changes nothing.
#   slipway-host.sh prune [KEEP]
#       Keep the KEEP (default $SLIPWAY_KEEP, 5; at least 2) most recently
#       installed releases; never remove `current` or `previous`. A
#       successful activate prunes the same way by itself.
#
# Layout under $SLIPWAY_ROOT (required):
#   releases/<version>/           one directory per release (with release.env)
#   releases/<version>/.slipway-release   marker written last at install:
#                                 a release is complete when it exists
#   releases/<version>/config/<fingerprint>.env   each configuration the
#                                 release was activated with (mode 0600,
#                                 directory 0700, owned by SLIPWAY_SERVICE_USER
#                                 when the script runs as root)
#   releases/<version>/app.env -> config/<fingerprint>.env   the one it runs
#                                 with, switched atomically
#   current -> releases/<version> switched atomically (temporary link + rename)
#   previous                      the version `current` pointed at before the
#                                 last switch (the default rollback target)
#   history                       one line per switch: TIME ACTION FROM TO DEPLOYMENT
#   host.env                      host settings, KEY=VALUE lines (optional)
#   app.pid, app.log              process mode only: the app's pid and output
#   .lock/                        held while activate, rollback or prune runs
#
# Host settings (host.env, or the environment):
#   SLIPWAY_SERVICE_MODE  systemd (default) or process
#   SLIPWAY_UNIT          systemd unit restarted by default in systemd mode
#   PORT                  port of the app's local health endpoint (required
#                         by activate and rollback)
#   SLIPWAY_HOST          host of the local health endpoint (127.0.0.1)
#   SLIPWAY_KEEP          releases kept by prune (5)
#   SLIPWAY_LOCK_TIMEOUT  seconds to wait for another run's lock (120)
#   SLIPWAY_STATUS_WAIT   seconds status waits for a running activate (90)
#   SLIPWAY_STOP_TIMEOUT  process mode: seconds a stopping app gets to finish
#                         its requests in flight after SIGTERM (10)
#   SLIPWAY_HOST_ENV      path of the host settings file ($SLIPWAY_ROOT/host.env)
#   SLIPWAY_DEPLOYMENT_ID recorded in history (optional)
#   SLIPWAY_SIMULATE_DISK_FREE_KB, SLIPWAY_SIMULATE_INODES_FREE,
#   SLIPWAY_SIMULATE_MEM_AVAILABLE_KB  what status reports as the release
#                         volume's free disk (KiB) and inodes and the host's
#                         available memory (KiB) instead of measuring them:
#                         for tests (a host short of disk), never in production
#   SLIPWAY_CONFIG_RESOLVER  the program that resolves a release's
#                         configuration on the host (cmd/slipway-env; the SSM
#                         document and the embedded fleet set it):
#                         RESOLVER resolve --release DIR --env ENV
#                         --fingerprint FP --out FILE; exit 3 means the values
#                         no longer match FP
#   SLIPWAY_SERVICE_USER  owner of the configuration files when run as root
#
# Configuration of one run (the caller's environment; SSM document
# parameters configEnv and configFingerprint):
#   SLIPWAY_CONFIG_FINGERPRINT  the configuration to run with (activate,
#                               rollback); empty: none, or the one the
#                               release last ran with
#   SLIPWAY_CONFIG_ENV          the environment whose values to resolve
#
# Release settings (releases/<version>/release.env, written by the bundle
# builder from the app manifest):
#   SLIPWAY_VERSION               the release's version
#   SLIPWAY_START                 process mode: the app's command, run in the
#                                 release directory (e.g. bin/demo-app)
#   SLIPWAY_RESTART               systemd mode: restart command
#                                 (default: systemctl restart "$SLIPWAY_UNIT")
#   SLIPWAY_HEALTH_PATH           /healthz
#   SLIPWAY_HEALTH_TIMEOUT        seconds to wait for health (30)
#   SLIPWAY_HEALTH_EXPECT_STATUS  HTTP status expected (200)
#   SLIPWAY_KEEP                  releases a successful activate keeps (the
#                                 manifest's keep_releases; host.env wins)
#   SLIPWAY_HOOK_BEFORE_ACTIVATE, SLIPWAY_HOOK_AFTER_ACTIVATE,
#   SLIPWAY_HOOK_VALIDATE, SLIPWAY_HOOK_BEFORE_TRAFFIC,
#   SLIPWAY_HOOK_AFTER_TRAFFIC    the manifest's hooks: a command run with
#                                 sh -c in the release directory, with the
#                                 release's environment; *_TIMEOUT seconds
#                                 (60) each. before_activate runs before
#                                 `current` switches to the release (a
#                                 failure leaves the host as it was);
#                                 after_activate, then validate, once it is
#                                 healthy. Activate runs the hooks of the
#                                 release it installs, rollback those of the
#                                 release it returns to. before_traffic and
#                                 after_traffic run only by the hook action.
#                                 Their output goes to stderr, each line
#                                 prefixed "hook NAME: ".
#
# Environment files are read as KEY=VALUE lines, never executed: blank lines
# and lines starting with # are skipped, an optional `export ` prefix and one
# pair of surrounding quotes are removed. Every variable is exported, so the
# app sees them. Precedence, lowest first: the caller's environment, the
# release's release.env, its app.env (the configuration), host.env (the host
# operator has the last word). Values are never printed.
# The release keys above are cleared before a release.env is read, so a
# restart uses that release's values or the defaults, never another release's.
#
# Process mode is a tiny systemd for hosts without one (the embedded fleet):
# stop sends SIGTERM to the process group named by app.pid, waits up to
# SLIPWAY_STOP_TIMEOUT (10s) for the app to finish its requests and exit,
# then SIGKILL; start runs SLIPWAY_START in `current` under setsid and nohup,
# stdin from /dev/null, stdout and stderr appended to app.log, and writes its
# pid to app.pid. In systemd mode the unit should read host.env
# (EnvironmentFile=), then $SLIPWAY_ROOT/current/app.env
# (EnvironmentFile=-, for the configuration), and run in
# $SLIPWAY_ROOT/current (WorkingDirectory=).
#
# Health: http://$SLIPWAY_HOST:$PORT$SLIPWAY_HEALTH_PATH must answer
# SLIPWAY_HEALTH_EXPECT_STATUS with a body containing "version":"VERSION"
# (whitespace allowed after the colon), polled every second with curl (or
# wget) until SLIPWAY_HEALTH_TIMEOUT. In process mode an app that exits fails
# the check at once.
#
# Output: log lines on stderr; last, one JSON line on stdout, also on failure:
#   {"action":"activate","version":"v2","previous":"v1","current":"v2","changed":true,"restarted":true,"config":"hmac-sha256:..."}
#   failures add "error":"..." and "exit_code":N.
#
# Needs: sh, tar with gzip, sha256sum (or shasum), curl (or wget), readlink,
# date +%s, mkdir, mv (GNU -T or BSD -h), ln, rm, ls, sed, tr, grep, cut,
# head, tail, sleep, nohup; setsid if available; systemctl in systemd mode.
#
# Exit codes:
#   0  success (including no-op activate or rollback)
#   1  unexpected error (file system, state files)
#   2  usage or configuration error (missing SLIPWAY_ROOT, bad arguments, no PORT)
#   3  artifact missing or SHA-256 mismatch
#   4  unpack failed (bad archive, no release.env)
#   5  restart failed
#   6  health check failed
#   7  rollback target not on this host (never installed, or pruned); for
#      hook, the release is not the current one
#   8  another run holds the lock (timed out waiting)
#   9  configuration could not be resolved (no resolver, a reference that
#      does not resolve, its file missing)
#   10 configuration changed since the deployment checked it (the values
#      the stores give now have another fingerprint): deploy again
#   11 a lifecycle hook of the release failed (non-zero exit, or timed out)

set -u

PROG=slipway-host.sh
RELEASE_KEYS='SLIPWAY_VERSION SLIPWAY_START SLIPWAY_RESTART SLIPWAY_HEALTH_PATH SLIPWAY_HEALTH_TIMEOUT SLIPWAY_HEALTH_EXPECT_STATUS SLIPWAY_KEEP
SLIPWAY_HOOK_BEFORE_ACTIVATE SLIPWAY_HOOK_BEFORE_ACTIVATE_TIMEOUT SLIPWAY_HOOK_AFTER_ACTIVATE SLIPWAY_HOOK_AFTER_ACTIVATE_TIMEOUT
SLIPWAY_HOOK_VALIDATE SLIPWAY_HOOK_VALIDATE_TIMEOUT SLIPWAY_HOOK_BEFORE_TRAFFIC SLIPWAY_HOOK_BEFORE_TRAFFIC_TIMEOUT
SLIPWAY_HOOK_AFTER_TRAFFIC SLIPWAY_HOOK_AFTER_TRAFFIC_TIMEOUT'

ACTION=
TARGET=
CHANGED=false
RESTARTED=false
BEFORE=
LOCKED=
CLEANUP=
CONFIG_FP=
CONFIG_ENV=

log() {
	printf '%s %s: %s\n' "$(date -u +%H:%M:%S)" "$PROG" "$*" >&2
}

usage() {
	cat >&2 <<'EOF'
usage: slipway-host.sh activate VERSION ARTIFACT SHA256
       slipway-host.sh rollback [VERSION]
       slipway-host.sh status
       slipway-host.sh hook NAME VERSION
       slipway-host.sh prune [KEEP]
SLIPWAY_ROOT must name the app root (releases/, current, host.env).
EOF
}

# json_str prints $1 as a JSON string.
json_str() {
	printf '"%s"' "$(printf '%s' "$1" | tr '\t\n\r' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# json_list prints the words of $1 as a JSON array of strings.
json_list() {
	printf '['
	sep=
	for item in $1; do
		printf '%s' "$sep"
		json_str "$item"
		sep=,
	done
	printf ']'
}

# result prints the final JSON line of activate and rollback; $1 is an error
# message and $2 an exit code, both empty on success.
result() {
	printf '{"action":%s,"version":%s,"previous":%s,"current":%s,"changed":%s,"restarted":%s,"config":%s' \
		"$(json_str "$ACTION")" "$(json_str "$TARGET")" \
		"$(json_str "$(read_previous)")" "$(json_str "$(read_current)")" "$CHANGED" "$RESTARTED" \
		"$(json_str "$(current_config)")"
	if [ -n "${1:-}" ]; then
		printf ',"error":%s,"exit_code":%s' "$(json_str "$1")" "$2"
	fi
	printf '}\n'
}

# die logs $2, prints the failure JSON line and exits with code $1.
die() {
	code=$1
	shift
	log "error: $*"
	if [ -n "$ACTION" ] && [ -n "${ROOT:-}" ]; then
		result "$*" "$code"
	else
		printf '{"action":%s,"error":%s,"exit_code":%s}\n' "$(json_str "$ACTION")" "$(json_str "$*")" "$code"
	fi
	exit "$code"
}

usage_error() {
	usage
	die 2 "$*"
}

on_exit() {
	if [ -n "$CLEANUP" ]; then
		rm -rf -- "$CLEANUP"
	fi
	if [ -n "$LOCKED" ]; then
		rm -rf -- "$ROOT/.lock"
	fi
}

# nap sleeps a fraction of a second where sleep allows it, else a second.
nap() {
	sleep 0.2 2>/dev/null || sleep 1
}

now() {
	date +%s
}

# valid_version succeeds if $1 can name a release directory.
valid_version() {
	case $1 in
	'' | .* | -* | *[!A-Za-z0-9._+-]*) return 1 ;;
	esac
	return 0
}

# load_env reads KEY=VALUE lines from file $1 and exports them.
load_env() {
	[ -f "$1" ] || return 0
	[ -r "$1" ] || die 2 "cannot read $1"
	cr=$(printf '\r')
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%"$cr"}
		case $line in
		'' | '#'*) continue ;;
		esac
		key=${line%%=*}
		if [ "$key" = "$line" ]; then
			log "warning: $1: ignoring line without '='"
			continue
		fi
		value=${line#*=}
		key=${key#export }
		case $key in
		'' | [0-9]* | *[!A-Za-z0-9_]*)
			log "warning: $1: ignoring invalid name '$key'"
			continue
			;;
		SLIPWAY_ROOT | IFS)
			log "warning: $1: $key cannot be set here"
			continue
			;;
		esac
		case $value in
		\"*\")
			value=${value#\"}
			value=${value%\"}
			;;
		\'*\')
			value=${value#\'}
			value=${value%\'}
			;;
		esac
		eval "$key=\$value"
		export "${key?}"
	done <"$1"
}

# load_release clears the release keys, then reads release $1's release.env
# and host.env on top of it.
load_release() {
	for key in $RELEASE_KEYS; do
		unset "$key"
	done
	load_env "$ROOT/releases/$1/release.env"
	if [ -L "$ROOT/releases/$1/app.env" ] && [ ! -f "$ROOT/releases/$1/app.env" ]; then
		die 9 "release $1's configuration $(release_config "$1") is missing from $ROOT/releases/$1/config"
	fi
	load_env "$ROOT/releases/$1/app.env"
	load_env "$HOST_ENV"
	: "${SLIPWAY_HEALTH_PATH:=/healthz}"
	: "${SLIPWAY_HEALTH_TIMEOUT:=30}"
	: "${SLIPWAY_HEALTH_EXPECT_STATUS:=200}"
	if [ -n "${SLIPWAY_VERSION:-}" ] && [ "$SLIPWAY_VERSION" != "$1" ]; then
		log "warning: release $1 has SLIPWAY_VERSION=$SLIPWAY_VERSION in its release.env"
	fi
	case $SLIPWAY_HEALTH_TIMEOUT in
	'' | *[!0-9]*) die 2 "SLIPWAY_HEALTH_TIMEOUT must be a number of seconds, not '$SLIPWAY_HEALTH_TIMEOUT'" ;;
	esac
	: "${SLIPWAY_STOP_TIMEOUT:=10}"
	case $SLIPWAY_STOP_TIMEOUT in
	'' | *[!0-9]*) die 2 "SLIPWAY_STOP_TIMEOUT must be a number of seconds, not '$SLIPWAY_STOP_TIMEOUT' (set it in host.env)" ;;
	esac
}

read_current() {
	[ -n "${ROOT:-}" ] || return 0
	link=$(readlink "$ROOT/current" 2>/dev/null) || return 0
	printf '%s' "${link##*/}"
}

read_previous() {
	[ -n "${ROOT:-}" ] && [ -f "$ROOT/previous" ] || return 0
	recorded=
	IFS= read -r recorded <"$ROOT/previous"
	printf '%s' "$recorded"
}

# release_config prints the fingerprint of the configuration release $1
# runs with: the file its app.env points at ("" for none).
release_config() {
	[ -n "${ROOT:-}" ] || return 0
	link=$(readlink "$ROOT/releases/$1/app.env" 2>/dev/null) || return 0
	name=${link##*/}
	printf '%s' "${name%.env}"
}

# current_config prints the fingerprint of the current release's
# configuration.
current_config() {
	cur=$(read_current)
	[ -n "$cur" ] || return 0
	release_config "$cur"
}

# valid_fingerprint succeeds if $1 is ALGORITHM:HEX and can name a file.
valid_fingerprint() {
	case $1 in
	:* | *: | *:*:* | *[!a-z0-9:-]*) return 1 ;;
	*:*) return 0 ;;
	esac
	return 1
}

# config_differs succeeds if a configuration was asked for and release $1
# does not run with it.
config_differs() {
	[ -n "$CONFIG_FP" ] && [ "$(release_config "$1")" != "$CONFIG_FP" ]
}

# ensure_config makes sure release $1 holds configuration $CONFIG_FP: kept
# from an earlier activation, or resolved now by the resolver, which
# refuses (exit 3) when the stores give values of another fingerprint. It
# changes nothing else, so a refusal leaves the host as it was.
ensure_config() {
	dir="$ROOT/releases/$1/config"
	file="$dir/$CONFIG_FP.env"
	if [ -f "$file" ]; then
		log "configuration $CONFIG_FP of release $1 is on this host"
		return 0
	fi
	[ -n "${SLIPWAY_CONFIG_RESOLVER:-}" ] ||
		die 9 "release $1 needs configuration $CONFIG_FP and no resolver is set: set SLIPWAY_CONFIG_RESOLVER in host.env"
	[ -n "$CONFIG_ENV" ] || die 2 "SLIPWAY_CONFIG_ENV must name the environment whose configuration release $1 needs"
	valid_version "$CONFIG_ENV" || die 2 "invalid environment name '$CONFIG_ENV'"
	mkdir -p "$dir" || die 1 "cannot create $dir"
	chmod 0700 "$dir" || die 1 "cannot make $dir private"
	log "resolving the configuration of $CONFIG_ENV for release $1 (expecting $CONFIG_FP)"
	"$SLIPWAY_CONFIG_RESOLVER" resolve --release "$ROOT/releases/$1" --env "$CONFIG_ENV" \
		--fingerprint "$CONFIG_FP" --out "$file" >&2
	rc=$?
	case $rc in
	0) ;;
	3) die 10 "the configuration of $CONFIG_ENV changed since the deployment checked it (it expected $CONFIG_FP): deploy again to use the new values" ;;
	*) die 9 "cannot resolve the configuration of $CONFIG_ENV for release $1 (resolver exit $rc, its error above)" ;;
	esac
	[ -f "$file" ] || die 9 "the resolver wrote no $file"
	chmod 0600 "$file" || die 1 "cannot make $file private"
	if [ -n "${SLIPWAY_SERVICE_USER:-}" ] && [ "$(id -u)" = 0 ]; then
		chown "$SLIPWAY_SERVICE_USER" "$dir" "$file" || die 9 "cannot give $file to $SLIPWAY_SERVICE_USER"
	fi
}

# use_config points release $1's app.env at configuration $CONFIG_FP
# atomically.
use_config() {
	link="$ROOT/releases/$1/.app.env.tmp.$$"
	rm -f -- "$link"
	ln -s "config/$CONFIG_FP.env" "$link" || die 1 "cannot create symlink $link"
	if ! mv -T -- "$link" "$ROOT/releases/$1/app.env" 2>/dev/null &&
		! mv -fh -- "$link" "$ROOT/releases/$1/app.env" 2>/dev/null; then
		rm -f -- "$link"
		die 1 "cannot point releases/$1/app.env at config/$CONFIG_FP.env"
	fi
	CHANGED=true
	log "release $1 runs with configuration $CONFIG_FP"
}

# is_complete succeeds if release $1 is fully installed.
is_complete() {
	[ -f "$ROOT/releases/$1/.slipway-release" ]
}

# releases prints the complete releases, oldest install first.
releases() {
	[ -d "$ROOT/releases" ] || return 0
	# Version names are checked by valid_version, so parsing ls is safe here.
	# shellcheck disable=SC2012
	ls -1tr -- "$ROOT"/releases/*/.slipway-release 2>/dev/null | while IFS= read -r marker; do
		dir=${marker%/.slipway-release}
		name=${dir##*/}
		valid_version "$name" && printf '%s\n' "$name"
	done
}

# write_file writes $2 and a newline to file $1 atomically.
write_file() {
	printf '%s\n' "$2" >"$1.tmp.$$" && mv -f -- "$1.tmp.$$" "$1"
}

# try_lock takes the lock like lock, waiting up to $1 seconds; it fails
# instead of exiting when another run keeps it.
try_lock() {
	start=$(now)
	while ! mkdir "$ROOT/.lock" 2>/dev/null; do
		holder=
		[ -f "$ROOT/.lock/pid" ] && IFS= read -r holder <"$ROOT/.lock/pid"
		if [ -n "$holder" ] && ! alive "$holder"; then
			log "removing stale lock of dead process $holder"
			rm -rf -- "$ROOT/.lock"
			continue
		fi
		[ $(($(now) - start)) -lt "$1" ] || return 1
		sleep 1
	done
	LOCKED=1
	printf '%s\n' "$$" >"$ROOT/.lock/pid"
}

lock() {
	timeout=${SLIPWAY_LOCK_TIMEOUT:-120}
	start=$(now)
	while ! mkdir "$ROOT/.lock" 2>/dev/null; do
		holder=
		[ -f "$ROOT/.lock/pid" ] && IFS= read -r holder <"$ROOT/.lock/pid"
		if [ -n "$holder" ] && ! alive "$holder"; then
			log "removing stale lock of dead process $holder"
			rm -rf -- "$ROOT/.lock"
			continue
		fi
		if [ $(($(now) - start)) -ge "$timeout" ]; then
			die 8 "another slipway-host.sh (pid ${holder:-unknown}) holds $ROOT/.lock; gave up after ${timeout}s"
		fi
		sleep 1
	done
	LOCKED=1
	printf '%s\n' "$$" >"$ROOT/.lock/pid"
}

# alive succeeds if process $1 exists and is not a zombie.
alive() {
	kill -s 0 "$1" 2>/dev/null || return 1
	if [ -r "/proc/$1/stat" ]; then
		stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
		state=${stat##*) }
		case $state in
		Z* | X*) return 1 ;;
		esac
	fi
	return 0
}

# ours succeeds if process $1 is an app of this root: it runs in one of its
# releases or has SLIPWAY_ROOT=$ROOT in its environment. Linux only (elsewhere
# app.pid is trusted); it keeps a recycled pid from being killed.
ours() {
	[ -d "/proc/$1" ] || return 0
	cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || cwd=
	case $cwd in
	"$ROOT"/releases/*) return 0 ;;
	esac
	tr '\000' '\n' <"/proc/$1/environ" 2>/dev/null | grep -Fqx "SLIPWAY_ROOT=$ROOT"
}

# signal sends signal $1 to the process group of $2, or to $2 alone.
signal() {
	kill -s "$1" -- "-$2" 2>/dev/null || kill -s "$1" "$2" 2>/dev/null
}

stop_process() {
	[ -f "$ROOT/app.pid" ] || return 0
	pid=
	IFS= read -r pid <"$ROOT/app.pid"
	case $pid in
	'' | *[!0-9]*) rm -f -- "$ROOT/app.pid"; return 0 ;;
	esac
	if ! alive "$pid"; then
		rm -f -- "$ROOT/app.pid"
		return 0
	fi
	if ! ours "$pid"; then
		log "warning: pid $pid in app.pid is not an app of $ROOT; not stopping it"
		rm -f -- "$ROOT/app.pid"
		return 0
	fi
	stop_timeout=${SLIPWAY_STOP_TIMEOUT:-10}
	log "stopping app pid $pid (SIGTERM; SIGKILL after ${stop_timeout}s)"
	signal TERM "$pid"
	waited=0
	while alive "$pid" && [ "$waited" -lt $((stop_timeout * 5)) ]; do
		nap
		waited=$((waited + 1))
	done
	if alive "$pid"; then
		log "app pid $pid still running after ${stop_timeout}s; sending SIGKILL"
		signal KILL "$pid"
		waited=0
		while alive "$pid" && [ "$waited" -lt 10 ]; do
			nap
			waited=$((waited + 1))
		done
	fi
	rm -f -- "$ROOT/app.pid"
}

start_process() {
	[ -n "${SLIPWAY_START:-}" ] || { log "SLIPWAY_START is empty in release $TARGET's release.env"; return 1; }
	cd "$ROOT/current" || return 1
	# The first word is the program; check it before stopping the running app.
	set -f
	# shellcheck disable=SC2086
	set -- $SLIPWAY_START
	set +f
	[ $# -ge 1 ] || { log "SLIPWAY_START is blank in release $TARGET's release.env"; return 1; }
	case $1 in
	*/*) [ -f "$1" ] && [ -x "$1" ] ;;
	*) command -v "$1" >/dev/null 2>&1 ;;
	esac || {
		log "start command '$1' of release $TARGET is not an executable (in $ROOT/releases/$TARGET)"
		return 1
	}
	stop_process
	rm -f -- "$ROOT/app.pid"
	# The app writes its own pid ($$ survives exec), so app.pid is right
	# whether or not setsid forks. It must not inherit our stdout or stderr:
	# the caller reads them until they close.
	# shellcheck disable=SC2016
	launch='printf "%s\n" "$$" >"$1.tmp" && mv -f "$1.tmp" "$1" || exit 1; eval "exec $2"'
	if command -v setsid >/dev/null 2>&1; then
		setsid nohup sh -c "$launch" slipway-app "$ROOT/app.pid" "$SLIPWAY_START" </dev/null >>"$ROOT/app.log" 2>&1 &
	else
		nohup sh -c "$launch" slipway-app "$ROOT/app.pid" "$SLIPWAY_START" </dev/null >>"$ROOT/app.log" 2>&1 &
	fi
	waited=0
	while [ ! -s "$ROOT/app.pid" ] && [ "$waited" -lt 25 ]; do
		nap
		waited=$((waited + 1))
	done
	cd / || return 1
	[ -s "$ROOT/app.pid" ] || { log "app did not write $ROOT/app.pid"; return 1; }
	IFS= read -r pid <"$ROOT/app.pid"
	log "started '$SLIPWAY_START' as pid $pid (output in $ROOT/app.log)"
}

restart() {
	case $MODE in
	process)
		start_process
		;;
	systemd)
		if [ -n "${SLIPWAY_RESTART:-}" ]; then
			log "restarting: $SLIPWAY_RESTART"
			(cd "$ROOT/current" && sh -c "$SLIPWAY_RESTART") >&2
		elif [ -n "${SLIPWAY_UNIT:-}" ]; then
			log "restarting: systemctl restart $SLIPWAY_UNIT"
			systemctl restart "$SLIPWAY_UNIT" >&2
		else
			log "neither SLIPWAY_RESTART (release.env) nor SLIPWAY_UNIT (host.env) is set"
			return 1
		fi
		;;
	esac
}

# probe fetches $1 into file $2 and prints the HTTP status (000 if none).
probe() {
	: >"$2"
	if command -v curl >/dev/null 2>&1; then
		code=$(curl -s -o "$2" -w '%{http_code}' --max-time 3 "$1" 2>/dev/null) || true
	elif command -v wget >/dev/null 2>&1; then
		# GNU wget keeps the body of an error answer only when asked to.
		if wget --help 2>&1 | grep -q -- --content-on-error; then
			code=$(wget -S -T 3 -t 1 --content-on-error -O "$2" "$1" 2>&1 |
				awk '$1 ~ /^HTTP\// { c = $2 } END { print c }') || true
		else
			code=$(wget -S -T 3 -t 1 -O "$2" "$1" 2>&1 |
				awk '$1 ~ /^HTTP\// { c = $2 } END { print c }') || true
		fi
	else
		log "neither curl nor wget is installed"
		code=
	fi
	printf '%s' "${code:-000}"
}

# wait_healthy waits until the app answers the expected status and reports
# version $1.
wait_healthy() {
	url="http://$HOST:$PORT$SLIPWAY_HEALTH_PATH"
	esc=$(printf '%s' "$1" | sed 's/[.+]/\\&/g')
	body="$ROOT/.health.$$"
	CLEANUP=$body
	deadline=$(($(now) + SLIPWAY_HEALTH_TIMEOUT))
	log "waiting up to ${SLIPWAY_HEALTH_TIMEOUT}s for $url to report version $1"
	code=
	while :; do
		code=$(probe "$url" "$body")
		if [ "$code" = "$SLIPWAY_HEALTH_EXPECT_STATUS" ] &&
			grep -Eq "\"version\":[[:space:]]*\"$esc\"" "$body"; then
			log "healthy: $url answered $code with version $1"
			rm -f -- "$body"
			CLEANUP=
			return 0
		fi
		if [ "$MODE" = process ]; then
			pid=
			[ -f "$ROOT/app.pid" ] && IFS= read -r pid <"$ROOT/app.pid"
			if [ -z "$pid" ] || ! alive "$pid"; then
				log "app ${pid:+pid $pid }exited; last lines of $ROOT/app.log:"
				tail -n 20 "$ROOT/app.log" 2>/dev/null | sed 's/^/  | /' >&2
				HEALTH_ERROR="app exited before it was healthy"
				break
			fi
		fi
		[ "$(now)" -lt "$deadline" ] || {
			HEALTH_ERROR="not healthy after ${SLIPWAY_HEALTH_TIMEOUT}s"
			break
		}
		sleep 1
	done
	snippet=$(head -c 300 "$body" 2>/dev/null | tr '\n\r' '  ')
	rm -f -- "$body"
	CLEANUP=
	HEALTH_ERROR="$HEALTH_ERROR: $url last answered $code (want $SLIPWAY_HEALTH_EXPECT_STATUS and \"version\":\"$1\"), body: ${snippet:-<empty>}"
	return 1
}

# switch points `current` at release $1 atomically and records the switch.
switch() {
	old_previous=$(read_previous)
	if [ -n "$BEFORE" ] && [ "$BEFORE" != "$1" ]; then
		write_file "$ROOT/previous" "$BEFORE" || die 1 "cannot write $ROOT/previous"
	fi
	link="$ROOT/.current.tmp.$$"
	rm -f -- "$link"
	if ! ln -s "releases/$1" "$link"; then
		die 1 "cannot create symlink $link"
	fi
	# GNU mv -T renames over the old link; BSD mv -h does the same.
	if ! mv -T -- "$link" "$ROOT/current" 2>/dev/null && ! mv -fh -- "$link" "$ROOT/current" 2>/dev/null; then
		rm -f -- "$link"
		if [ -n "$old_previous" ]; then
			write_file "$ROOT/previous" "$old_previous"
		fi
		die 1 "cannot switch $ROOT/current to releases/$1"
	fi
	CHANGED=true
	printf '%s %s %s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$ACTION" "${BEFORE:--}" "$1" \
		"${SLIPWAY_DEPLOYMENT_ID:--}" >>"$ROOT/history" || log "warning: cannot append to $ROOT/history"
	log "current: ${BEFORE:-(none)} -> $1"
}

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum -- "$1" | cut -d' ' -f1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 -- "$1" | cut -d' ' -f1
	else
		log "neither sha256sum nor shasum is installed"
		return 1
	fi
}

# unpack_release unpacks artifact $2 into releases/$1 (reusing a complete one with
# the same checksum $3).
unpack_release() {
	dest="$ROOT/releases/$1"
	if is_complete "$1"; then
		installed=$(sed -n 's/^sha256=//p' "$dest/.slipway-release")
		if [ "$installed" = "$3" ]; then
			log "release $1 is already installed; reusing it"
			return 0
		fi
		log "release $1 is installed from another artifact (sha256 ${installed:-unknown}); replacing it"
	fi
	mkdir -p "$ROOT/releases" || die 1 "cannot create $ROOT/releases"
	tmp="$ROOT/releases/.$1.tmp.$$"
	CLEANUP=$tmp
	rm -rf -- "$tmp"
	mkdir "$tmp" || die 4 "cannot create $tmp"
	log "unpacking $2 into releases/$1"
	tar -xzf "$2" -C "$tmp" >&2 || die 4 "cannot unpack $2 (not a valid .tar.gz?)"
	src=$tmp
	if [ ! -f "$src/release.env" ]; then
		# Accept a bundle with one top-level directory holding the release.
		set -- "$1" "$2" "$3" "$tmp"/*
		if [ $# -eq 4 ] && [ -f "$4/release.env" ]; then
			src=$4
		else
			die 4 "artifact $2 has no release.env at its top level"
		fi
		set -- "$1" "$2" "$3"
	fi
	printf 'version=%s\nsha256=%s\ninstalled=%s\n' "$1" "$3" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		>"$src/.slipway-release" || die 4 "cannot write the release marker"
	if [ -e "$dest" ] || [ -L "$dest" ]; then
		mv -- "$dest" "$ROOT/releases/.$1.old.$$" || die 4 "cannot move the old $dest aside"
		rm -rf -- "$ROOT/releases/.$1.old.$$"
	fi
	mv -- "$src" "$dest" || die 4 "cannot rename $src to $dest"
	rm -rf -- "$tmp"
	CLEANUP=
}

need_port() {
	case ${PORT:-} in
	'' | *[!0-9]*) die 2 "PORT must be set to the app's port in host.env (got '${PORT:-}')" ;;
	esac
}

# restart_and_check restarts the release in current and waits for health.
# run_hook runs release $TARGET's hook $1 (before_activate, after_activate,
# validate, before_traffic or after_traffic), if its release.env names one, in the release directory with
# the release's environment, for at most its timeout. Its output goes to
# stderr, each line prefixed; a non-zero exit or a timeout dies with 11.
run_hook() {
	load_release "$TARGET"
	case $1 in
	before_activate)
		hook_cmd=${SLIPWAY_HOOK_BEFORE_ACTIVATE:-}
		hook_secs=${SLIPWAY_HOOK_BEFORE_ACTIVATE_TIMEOUT:-60}
		;;
	after_activate)
		hook_cmd=${SLIPWAY_HOOK_AFTER_ACTIVATE:-}
		hook_secs=${SLIPWAY_HOOK_AFTER_ACTIVATE_TIMEOUT:-60}
		;;
	validate)
		hook_cmd=${SLIPWAY_HOOK_VALIDATE:-}
		hook_secs=${SLIPWAY_HOOK_VALIDATE_TIMEOUT:-60}
		;;
	before_traffic)
		hook_cmd=${SLIPWAY_HOOK_BEFORE_TRAFFIC:-}
		hook_secs=${SLIPWAY_HOOK_BEFORE_TRAFFIC_TIMEOUT:-60}
		;;
	after_traffic)
		hook_cmd=${SLIPWAY_HOOK_AFTER_TRAFFIC:-}
		hook_secs=${SLIPWAY_HOOK_AFTER_TRAFFIC_TIMEOUT:-60}
		;;
	*) die 1 "unknown hook '$1'" ;;
	esac
	[ -n "$hook_cmd" ] || return 0
	case $hook_secs in
	'' | *[!0-9]*) die 2 "the timeout of hook $1 in release $TARGET's release.env must be a number of seconds, not '$hook_secs'" ;;
	esac
	log "hook $1 of $TARGET: running '$hook_cmd' (timeout ${hook_secs}s)"
	hook_dir="$ROOT/.hook.$$"
	hook_out=$hook_dir/output
	hook_mark=$hook_dir/timedout
	rm -rf -- "$hook_dir"
	mkdir -- "$hook_dir" || die 1 "cannot create $hook_dir"
	CLEANUP=$hook_dir
	(cd "$ROOT/releases/$TARGET" && SLIPWAY_HOOK=$1 SLIPWAY_RELEASE_DIR="$ROOT/releases/$TARGET" exec sh -c "$hook_cmd") </dev/null >"$hook_out" 2>&1 &
	hook_pid=$!
	# The watchdog holds none of the script's descriptors, so that a
	# caller reading our output is not kept waiting for it.
	(
		sleep "$hook_secs"
		: >"$hook_mark"
		kill -TERM "$hook_pid" 2>/dev/null
		sleep 5
		kill -KILL "$hook_pid" 2>/dev/null
	) </dev/null >/dev/null 2>&1 &
	hook_dog=$!
	hook_rc=0
	wait "$hook_pid" || hook_rc=$?
	kill "$hook_dog" 2>/dev/null
	sed "s/^/hook $1: /" "$hook_out" >&2
	hook_timedout=false
	[ -e "$hook_mark" ] && hook_timedout=true
	rm -rf -- "$hook_dir"
	CLEANUP=
	if [ "$hook_timedout" = true ]; then
		die 11 "hook $1 of $TARGET timed out after ${hook_secs}s"
	fi
	if [ "$hook_rc" -ne 0 ]; then
		die 11 "hook $1 of $TARGET failed (exit $hook_rc)"
	fi
	log "hook $1 of $TARGET: ok"
}

restart_and_check() {
	load_release "$TARGET"
	restart || die 5 "restart of release $TARGET failed"
	HEALTH_ERROR=
	wait_healthy "$TARGET" || die 6 "health check failed: $HEALTH_ERROR"
}

# healthy_now succeeds if the app answers healthily with version $1 within
# a few quick probes (the release's settings must be loaded).
healthy_now() {
	url="http://$HOST:$PORT$SLIPWAY_HEALTH_PATH"
	body="$ROOT/.health.$$"
	CLEANUP=$body
	tries=0
	NOW_ERROR=
	while [ "$tries" -lt 3 ]; do
		code=$(probe "$url" "$body")
		got=$(body_version "$body")
		if [ "$code" = "$SLIPWAY_HEALTH_EXPECT_STATUS" ] && [ "$got" = "$1" ]; then
			rm -f -- "$body"
			CLEANUP=
			return 0
		fi
		NOW_ERROR="$url answered $code with version '${got}'"
		tries=$((tries + 1))
		[ "$tries" -lt 3 ] && sleep 1
	done
	rm -f -- "$body"
	CLEANUP=
	return 1
}

# body_version prints the "version" of the JSON answer in file $1.
body_version() {
	tr '\n\r' '  ' <"$1" 2>/dev/null | sed -n 's/.*"version":[[:space:]]*"\([^"]*\)".*/\1/p' | head -n 1
}

# settle keeps the current release as it is when it answers healthily, and
# restarts it otherwise (the app died, or still runs another release).
settle() {
	load_release "$TARGET"
	if healthy_now "$TARGET"; then
		log "release $TARGET is current and healthy; nothing to change"
		return 0
	fi
	log "release $TARGET is current but not healthy ($NOW_ERROR): restarting it"
	RESTARTED=true
	restart || die 5 "restart of release $TARGET failed"
	HEALTH_ERROR=
	wait_healthy "$TARGET" || die 6 "health check failed: $HEALTH_ERROR"
}

cmd_activate() {
	[ $# -eq 3 ] || usage_error "activate takes VERSION ARTIFACT SHA256"
	TARGET=$1
	artifact=$2
	want=$(printf '%s' "$3" | tr 'A-F' 'a-f')
	valid_version "$TARGET" || usage_error "invalid version '$TARGET' (letters, digits, . _ + - only)"
	case $want in
	'' | *[!0-9a-f]*) usage_error "invalid SHA-256 '$3'" ;;
	esac
	need_port
	lock
	BEFORE=$(read_current)
	if [ "$BEFORE" = "$TARGET" ] && is_complete "$TARGET"; then
		installed=$(sed -n 's/^sha256=//p' "$ROOT/releases/$TARGET/.slipway-release")
		if [ "$installed" = "$want" ]; then
			if config_differs "$TARGET"; then
				log "release $TARGET is current with configuration $(release_config "$TARGET"); switching it to $CONFIG_FP"
				ensure_config "$TARGET"
				use_config "$TARGET"
				RESTARTED=true
				restart_and_check
				result
				return 0
			fi
			settle
			result
			return 0
		fi
		log "release $TARGET is current but was installed from other bytes (sha256 ${installed:-unknown}, now $want): installing it again"
	fi
	[ -f "$artifact" ] || die 3 "artifact $artifact not found (expected sha256 $want, actual: none)"
	got=$(sha256 "$artifact") || die 3 "cannot compute the sha256 of $artifact"
	[ "$got" = "$want" ] || die 3 "sha256 mismatch for $artifact: expected $want, actual $got"
	log "artifact $artifact sha256 $got verified"
	unpack_release "$TARGET" "$artifact" "$want"
	if config_differs "$TARGET"; then
		ensure_config "$TARGET"
		use_config "$TARGET"
	fi
	run_hook before_activate
	switch "$TARGET"
	RESTARTED=true
	restart_and_check
	run_hook after_activate
	run_hook validate
	# Keep the host's disk in check: the manifest's keep_releases (host.env
	# may override SLIPWAY_KEEP); current and previous always stay.
	if valid_keep "${SLIPWAY_KEEP:-5}"; then
		prune_releases "${SLIPWAY_KEEP:-5}"
	fi
	result
}

cmd_rollback() {
	[ $# -le 1 ] || usage_error "rollback takes at most one VERSION"
	need_port
	lock
	BEFORE=$(read_current)
	TARGET=${1:-$(read_previous)}
	[ -n "$TARGET" ] || die 7 "no version given and no previous release recorded in $ROOT/previous"
	valid_version "$TARGET" || usage_error "invalid version '$TARGET'"
	is_complete "$TARGET" || die 7 "release $TARGET is not on this host (pruned?)"
	if config_differs "$TARGET"; then
		ensure_config "$TARGET"
		use_config "$TARGET"
		if [ "$BEFORE" = "$TARGET" ]; then
			RESTARTED=true
			restart_and_check
			result
			return 0
		fi
	fi
	if [ "$BEFORE" = "$TARGET" ]; then
		settle
		result
		return 0
	fi
	run_hook before_activate
	switch "$TARGET"
	RESTARTED=true
	restart_and_check
	run_hook after_activate
	run_hook validate
	result
}

cmd_hook() {
	[ $# -eq 2 ] || usage_error "hook takes NAME VERSION"
	case $1 in
	before_traffic | after_traffic) ;;
	*) usage_error "hook NAME must be before_traffic or after_traffic, not '$1' (activate and rollback run the others)" ;;
	esac
	TARGET=$2
	valid_version "$TARGET" || usage_error "invalid version '$TARGET'"
	lock
	BEFORE=$(read_current)
	[ "$BEFORE" = "$TARGET" ] ||
		die 7 "release $TARGET is not current on this host (current: ${BEFORE:-none}): its hook $1 runs only where it serves"
	is_complete "$TARGET" || die 7 "release $TARGET is not complete on this host"
	run_hook "$1"
	result
}

cmd_status() {
	[ $# -eq 0 ] || usage_error "status takes no arguments"
	busy=false
	try_lock "${SLIPWAY_STATUS_WAIT:-90}" || busy=true
	cur=$(read_current)
	sum=
	conf=
	serving=
	healthy=false
	problem=
	if [ -z "$cur" ]; then
		problem="no release is current"
	elif ! is_complete "$cur"; then
		problem="current points at releases/$cur, which is not a complete release"
	else
		sum=$(sed -n 's/^sha256=//p' "$ROOT/releases/$cur/.slipway-release")
		conf=$(release_config "$cur")
		TARGET=$cur
		load_release "$cur"
		case ${PORT:-} in
		'' | *[!0-9]*)
			problem="PORT is not set in host.env: health not checked"
			;;
		*)
			url="http://$HOST:$PORT$SLIPWAY_HEALTH_PATH"
			body="$ROOT/.health.$$"
			CLEANUP=$body
			code=$(probe "$url" "$body")
			serving=$(body_version "$body")
			rm -f -- "$body"
			CLEANUP=
			if [ "$code" = "$SLIPWAY_HEALTH_EXPECT_STATUS" ] && [ "$serving" = "$cur" ]; then
				healthy=true
			elif [ "$code" = 000 ]; then
				problem="$url did not answer"
			else
				problem="$url answered $code with version '$serving' (want $SLIPWAY_HEALTH_EXPECT_STATUS and $cur)"
			fi
			;;
		esac
	fi
	if [ "$busy" = true ]; then
		problem="another slipway-host.sh run kept $ROOT/.lock for ${SLIPWAY_STATUS_WAIT:-90}s${problem:+; }$problem"
	fi
	printf '{"action":"status","current":%s,"previous":%s,"releases":%s,"root":%s,"sha256":%s,"config":%s,"serving":%s,"healthy":%s,"health":%s,"busy":%s,"disk_free_kb":%s,"inodes_free":%s,"mem_available_kb":%s}\n' \
		"$(json_str "$cur")" "$(json_str "$(read_previous)")" \
		"$(json_list "$(releases)")" "$(json_str "$ROOT")" "$(json_str "$sum")" "$(json_str "$conf")" \
		"$(json_str "$serving")" "$healthy" "$(json_str "$problem")" "$busy" \
		"$(free_figure "${SLIPWAY_SIMULATE_DISK_FREE_KB:-}" "$(df -Pk "$ROOT" 2>/dev/null | awk 'NR == 2 { print $4 }')")" \
		"$(free_figure "${SLIPWAY_SIMULATE_INODES_FREE:-}" "$(df -Pi "$ROOT" 2>/dev/null | awk 'NR == 2 && $2 > 0 { print $4 }')")" \
		"$(free_figure "${SLIPWAY_SIMULATE_MEM_AVAILABLE_KB:-}" "$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo 2>/dev/null)")"
}

# free_figure prints $1 (a host setting that simulates the figure, for
# tests) or else $2 (what the host measured), when it is a number, and
# null otherwise (the host cannot tell: a file system without an inode
# limit, no /proc/meminfo).
free_figure() {
	figure=${1:-$2}
	case $figure in
	'' | *[!0-9]*) printf null ;;
	*) printf '%s' "$figure" ;;
	esac
}

# prune_releases removes the oldest complete releases until at most KEEP
# remain, never `current` or `previous`, and leftovers of interrupted
# installs. The caller holds the lock. It sets REMOVED and KEPT.
prune_releases() {
	keep=$1
	cur=$(read_current)
	prev=$(read_previous)
	all=$(releases)
	total=$(printf '%s\n' "$all" | grep -c .)
	excess=$((total - keep))
	REMOVED=
	KEPT=
	for r in $all; do
		if [ "$excess" -gt 0 ] && [ "$r" != "$cur" ] && [ "$r" != "$prev" ]; then
			log "removing release $r"
			rm -rf -- "${ROOT:?}/releases/$r" || die 1 "cannot remove $ROOT/releases/$r"
			REMOVED="$REMOVED $r"
			excess=$((excess - 1))
		else
			KEPT="$KEPT $r"
		fi
	done
	# Leftovers of interrupted installs whose process is gone.
	for tmp in "$ROOT"/releases/.*.tmp.* "$ROOT"/releases/.*.old.*; do
		[ -d "$tmp" ] || continue
		pid=${tmp##*.}
		case $pid in '' | *[!0-9]*) continue ;; esac
		alive "$pid" && continue
		log "removing leftover $tmp"
		rm -rf -- "$tmp"
	done
	[ -n "$REMOVED" ] || log "nothing to prune (keep $keep of $total)"
}

valid_keep() {
	case $1 in
	'' | *[!0-9]* | 0 | 1) return 1 ;;
	esac
}

cmd_prune() {
	[ $# -le 1 ] || usage_error "prune takes at most one KEEP"
	keep=${1:-${SLIPWAY_KEEP:-5}}
	valid_keep "$keep" || usage_error "KEEP must be a number of at least 2 (current and previous), not '$keep'"
	lock
	prune_releases "$keep"
	[ -n "$REMOVED" ] && CHANGED=true
	printf '{"action":"prune","keep":%s,"removed":%s,"kept":%s,"current":%s,"previous":%s,"changed":%s}\n' \
		"$keep" "$(json_list "$REMOVED")" "$(json_list "$KEPT")" \
		"$(json_str "$(read_current)")" "$(json_str "$(read_previous)")" "$CHANGED"
}

main() {
	[ $# -ge 1 ] || usage_error "no action given"
	ACTION=$1
	shift
	case $ACTION in
	activate | rollback | status | hook | prune) ;;
	-h | --help | help)
		usage
		exit 0
		;;
	*)
		bad=$ACTION
		ACTION=
		usage_error "unknown action '$bad'"
		;;
	esac
	[ -n "${SLIPWAY_ROOT:-}" ] || usage_error "SLIPWAY_ROOT is not set: it must name the app root"
	[ -d "$SLIPWAY_ROOT" ] || usage_error "SLIPWAY_ROOT $SLIPWAY_ROOT is not a directory"
	ROOT=$(cd -P -- "$SLIPWAY_ROOT" && pwd -P) || die 2 "cannot resolve SLIPWAY_ROOT $SLIPWAY_ROOT"
	# The app sees the resolved root; `ours` recognises it by it.
	SLIPWAY_ROOT=$ROOT
	export SLIPWAY_ROOT
	trap on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	HOST_ENV=${SLIPWAY_HOST_ENV:-$ROOT/host.env}
	load_env "$HOST_ENV"
	MODE=${SLIPWAY_SERVICE_MODE:-systemd}
	case $MODE in
	systemd | process) ;;
	*) die 2 "SLIPWAY_SERVICE_MODE must be systemd or process, not '$MODE'" ;;
	esac
	HOST=${SLIPWAY_HOST:-127.0.0.1}
	CONFIG_FP=${SLIPWAY_CONFIG_FINGERPRINT:-}
	CONFIG_ENV=${SLIPWAY_CONFIG_ENV:-}
	if [ -n "$CONFIG_FP" ] && ! valid_fingerprint "$CONFIG_FP"; then
		die 2 "SLIPWAY_CONFIG_FINGERPRINT '$CONFIG_FP' is not ALGORITHM:HEX"
	fi
	case $ACTION in
	activate) cmd_activate "$@" ;;
	rollback) cmd_rollback "$@" ;;
	status) cmd_status "$@" ;;
	hook) cmd_hook "$@" ;;
	prune) cmd_prune "$@" ;;
	esac
}

main "$@"
