# Shared by both first-boot scripts (sourced, POSIX sh): bounded retries with backoff, apt with a
# lock timeout, and the one place a boot reports how it ended.
#
#   . /usr/local/lib/autoscaler/boot-lib.sh
#   boot_begin pool           # role; installs the EXIT trap that reports the outcome
#   boot_step "docker"        # names what runs now (the failure line quotes it)
#   retry curl -fsS ...       # BOOT_ATTEMPTS tries, delay doubling from BOOT_FIRST_DELAY to BOOT_MAX_DELAY
#   apt_install pkg ...       # apt-get update + install, each retried, waiting for the dpkg lock
#   apt_hold pkg ...          # apt-mark hold, retried
#   fetch_key URL KEYRING     # an armored signing key, downloaded (retried) then dearmored
#
# The outcome goes to node exporter's textfile collector (autoscaler_boot_ok{role,step}: 1 finished,
# 0 failed at step) and, on failure, as one line to the kernel log, which the kernel prints on every
# console (the VM's console log), to stderr (cloud-init-output.log) and to the journal.

: "${BOOT_ATTEMPTS:=6}"              # 5 s, 10 s, 20 s, 40 s, 60 s between tries: ~2 minutes in all
: "${BOOT_FIRST_DELAY:=5}"
: "${BOOT_MAX_DELAY:=60}"
: "${BOOT_APT_LOCK_TIMEOUT:=600}"     # apt-daily / unattended-upgrades may hold the dpkg lock for minutes
: "${BOOT_TEXTFILE_DIR:=/var/lib/autoscaler/textfile}"
: "${BOOT_CONSOLE:=/dev/kmsg}"
BOOT_ROLE=vm
BOOT_STEP=start

boot_log() {
  echo "autoscaler-boot[$BOOT_ROLE]: $*" >&2
}

boot_step() {
  BOOT_STEP=$1
  boot_log "step: $1"
}

retry() {
  _attempt=1
  _delay=$BOOT_FIRST_DELAY
  while :; do
    _status=0
    "$@" || _status=$?
    [ "$_status" -eq 0 ] && return 0
    if [ "$_attempt" -ge "$BOOT_ATTEMPTS" ]; then
      boot_log "gave up after $_attempt attempts (exit $_status): $*"
      return "$_status"
    fi
    boot_log "attempt $_attempt of $BOOT_ATTEMPTS failed (exit $_status), next in ${_delay}s: $*"
    sleep "$_delay"
    _attempt=$((_attempt + 1))
    _delay=$((_delay * 2))
    [ "$_delay" -gt "$BOOT_MAX_DELAY" ] && _delay=$BOOT_MAX_DELAY
  done
}

apt_get() {
  # --error-on=any: a mirror that failed to answer makes `update` fail (and so retry) instead of
  # leaving stale or missing package lists behind a zero exit code.
  DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout="$BOOT_APT_LOCK_TIMEOUT" \
    -o Dpkg::Options::=--force-confold "$@"
}

apt_update() {
  apt_get update --error-on=any
}

apt_install() {
  retry apt_update
  retry apt_get install "$@"
}

apt_hold() {
  # apt-mark hold writes dpkg's selections through `dpkg --set-selections`, which fails at once
  # while apt-daily or unattended-upgrades holds the dpkg lock: retried like a download.
  retry apt-mark hold "$@"
}

fetch_key() {
  # To a file first, then dearmored: a download piped into gpg under sh (no pipefail) let a failed
  # curl pass as an empty keyring.
  retry curl -fsSL --max-time 30 -o "$2.asc" "$1"
  gpg --dearmor --yes -o "$2" "$2.asc"
  rm -f "$2.asc"
}

boot_status() {
  # boot_status 1|0: the textfile node exporter exports (written atomically, readable by it)
  mkdir -p "$BOOT_TEXTFILE_DIR"
  _tmp="$BOOT_TEXTFILE_DIR/.boot.prom.$$"
  {
    echo "# HELP autoscaler_boot_ok 1 when the first boot finished, 0 when it failed at step."
    echo "# TYPE autoscaler_boot_ok gauge"
    echo "autoscaler_boot_ok{role=\"$BOOT_ROLE\",step=\"$BOOT_STEP\"} $1"
    echo "# HELP autoscaler_boot_timestamp_seconds When the first boot ended."
    echo "# TYPE autoscaler_boot_timestamp_seconds gauge"
    echo "autoscaler_boot_timestamp_seconds $(date +%s)"
  } > "$_tmp"
  chmod 0644 "$_tmp"
  mv -f "$_tmp" "$BOOT_TEXTFILE_DIR/boot.prom"
}

boot_console() {
  boot_log "$1"
  # <3> = err: above the default console log level, so the kernel prints it on every console.
  printf '<3>%s\n' "$1" > "$BOOT_CONSOLE" 2>/dev/null || true
  logger -p user.err -t autoscaler-boot "$1" 2>/dev/null || true
}

boot_finish() {
  _status=$1
  trap - EXIT
  if [ "$_status" -eq 0 ]; then
    BOOT_STEP=done
    boot_status 1 || true
    boot_log "finished"
  else
    boot_status 0 || true
    boot_console "autoscaler-boot: FAILED on the $BOOT_ROLE VM at step '$BOOT_STEP' (exit $_status); details in /var/log/cloud-init-output.log"
  fi
  exit "$_status"
}

boot_begin() {
  BOOT_ROLE=$1
  trap 'boot_finish $?' EXIT
  trap 'exit 130' INT TERM
  boot_log "begin"
}
