#!/usr/bin/env bash
# Local time: times are stored in UTC and shown in the reader's zone (TZ)
# with its offset; --json stays UTC ("Z"); a time typed without a zone is
# local. The same vault read from Vientiane, Bangkok and UTC.
. "$(dirname "$0")/lib.sh"

for z in Asia/Vientiane Asia/Bangkok Europe/Berlin UTC; do
	[ -e "/usr/share/zoneinfo/$z" ] || { echo "tzdata is missing ($z): run tests/deps.sh"; exit 1; }
done
for u in dpo noy aud; do
	mkpass "$u"
done
expect_exit 0 cv dpo init --admin dpo
add_user dpo noy caseworker
add_user dpo aud auditor
expect_exit 0 cv dpo purpose require off
expect_exit 0 cv noy case create --label "zones"
code=${OUT%$'\n'}
printf 'hello\n' > "$T/a"
expect_exit 0 cv noy put "$code/a.txt" "$T/a"

# The version's time, in seconds, from --json (UTC, "Z").
expect_exit 0 env TZ=Asia/Vientiane "$CASEVAULT_BIN" --vault "$VAULT" --user noy \
	--passphrase-file "$T/noy.pass" history "$code/a.txt" --json
jtime=$(jfield "$OUTF" 'o["time"]')
check_match "--json times are UTC whatever TZ says" '^[0-9-]{10}T[0-9:]{8}Z$' "$jtime"
secs=$(date -u -d "$jtime" +%s)

# local ZONE FORMAT: the version's time in ZONE, as date(1) writes it.
local_of() {
	TZ=$1 date -d "@$secs" "$2"
}

for z in Asia/Vientiane Asia/Bangkok UTC; do
	TZ=$z expect_exit 0 cv noy history "$code/a.txt"
	check_contains "history in $z: local time with its offset" \
		"v1  $(local_of "$z" +%Y-%m-%dT%H:%M:%S%:z)  noy" "$OUT"
	TZ=$z expect_exit 0 cv noy ls "$code"
	check_contains "ls in $z: to the minute, with its offset" \
		"$(local_of "$z" +%Y-%m-%dT%H:%M%:z) v1 a.txt" "$OUT"
	TZ=$z expect_exit 0 cv aud audit log --case "$code" --action write
	check_contains "audit log in $z: local time with its offset" \
		"$(local_of "$z" +%Y-%m-%dT%H:%M:%S%:z) noy write" "$OUT"
done
TZ=Asia/Vientiane expect_exit 0 cv noy history "$code/a.txt"
check_contains "Vientiane is UTC+07:00" "+07:00  noy" "$OUT"
TZ=UTC expect_exit 0 cv noy history "$code/a.txt"
check_contains "UTC shows +00:00" "+00:00  noy" "$OUT"

# A time typed without a zone is the reader's local time: the same words
# are seven hours apart in Vientiane and in UTC.
sleep 1
mid=$(date +%s)
sleep 1
expect_exit 0 cv noy put "$code/b.txt" "$T/a"
typed=$(TZ=Asia/Vientiane date -d "@$mid" +%Y-%m-%dT%H:%M:%S)
count_since() {
	TZ=$1 cv aud audit log --since "$2" --action write --json 2>/dev/null | grep -c .
}
check_eq "--since without a zone, in Vientiane: local" 1 "$(count_since Asia/Vientiane "$typed")"
check_eq "--since without a zone, in UTC: seven hours later, none yet" 0 "$(count_since UTC "$typed")"
check_eq "--since with +07:00 whatever TZ says" 1 "$(count_since UTC "$typed+07:00")"
check_eq "--since with Z whatever TZ says" 1 \
	"$(count_since Asia/Vientiane "$(date -u -d "@$mid" +%Y-%m-%dT%H:%M:%SZ)")"
check_eq "--since to the minute, without seconds" 2 \
	"$(count_since Asia/Bangkok "$(TZ=Asia/Bangkok date -d "@$((mid - 60))" +%Y-%m-%dT%H:%M)")"
# get --at: a local moment before b.txt was written.
TZ=Asia/Vientiane expect_exit 0 cv noy ls "$code" --at "$typed" --json
check_eq "ls --at a local time: what was there then" "a.txt" "$(jfield "$OUTF" 'o["name"]' | paste -sd' ' -)"
# Bad times are refused and say what is accepted.
for bad in "2026-11-01T9:30" "2026-11-01T09:30+7" "2026-11-01T09:30:00 Z" "2026-11-01T25:00"; do
	fails_cleanly 2 "is not a time for --at" cv noy ls "$code" --at "$bad"
done

# --- the working hours' zone -------------------------------------------------
expect_exit 0 cv aud settings show --json
check_eq "time-zone is UTC by default" "UTC True" \
	"$(jfield "$OUTF" 'o["value"] + " " + str(o["default"]) if o["key"] == "time-zone" else None' | grep -v '^null$')"
for z in Mars/Olympus Asia/Vient ../../etc/passwd /etc/localtime "Asia/Vientiane " ""; do
	fails_cleanly 2 "time-zone" cv dpo settings set time-zone "$z"
	check_contains "an unknown zone: the hint lists the zones" "timedatectl list-timezones" "$ERR"
done
expect_exit 0 cv dpo settings set time-zone Asia/Vientiane
expect_exit 0 cv dpo settings set work-days mon-sun
# Hours that end an hour before Vientiane's clock says now and start two
# hours after it (overnight but near midnight): now is outside them there.
h=$((10#$(TZ=Asia/Vientiane date +%H)))
hours=$(printf '%02d:00-%02d:00' $(( (h + 2) % 24 )) $(( (h + 23) % 24 )))
expect_exit 0 cv dpo settings set work-hours "$hours"
expect_exit 0 cv noy get "$code/a.txt" -o "$T/r1"
for z in America/New_York Asia/Bangkok UTC; do
	TZ=$z expect_exit 0 cv aud audit report --anomalies --json
	jfield "$OUTF" 'o["user"] + " " + o["detail"] if o["rule"] == "off-hours" else None' | grep -v '^null$' > "$T/flags.${z//\//_}"
	check_eq "off-hours from $z: Vientiane's hours" "noy outside mon,tue,wed,thu,fri,sat,sun $hours Asia/Vientiane" "$(cat "$T/flags.${z//\//_}")"
done
TZ=Asia/Bangkok expect_exit 0 cv aud audit report --anomalies
check_match "the text report shows the reader's offset" "flag off-hours user noy from [0-9T:-]{19}\\+07:00" "$OUT"
# In UTC the same hours hold now: no flag.
expect_exit 0 cv dpo settings set time-zone UTC
hu=$((10#$(date -u +%H)))
expect_exit 0 cv dpo settings set work-hours "$(printf '%02d:00-%02d:00' $(( (hu + 23) % 24 )) $(( (hu + 2) % 24 )))"
TZ=Asia/Vientiane expect_exit 0 cv aud audit report --anomalies --json
check_eq "hours around now in UTC: no off-hours flag" 0 "$(grep -c '"off-hours"' "$OUTF")"

expect_exit 0 cv aud audit verify
finish
