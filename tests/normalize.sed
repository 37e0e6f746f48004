# normalize.sed - the one place where lesson output is made comparable
# (tests/transcripts.sh runs both the output and expected.txt through it).
# Each rule replaces something that differs from run to run; every rule is
# listed, with an example, in tests/README.md ("Normalisation"). Keep the
# rules narrow: a rule that matches too much hides real changes.
# Runs under LC_ALL=C with GNU sed -E.

# 1. Clock times: 12:34:56 or 12:34:56.789 -> HH:MM:SS
s/\b[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?\b/HH:MM:SS/g

# 2. Rates: a number followed by a unit per second (req/s, ops/s, MB/s,
#    switches/s, "per sec") -> X
s/\b[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?( ?[A-Za-z]*\/s\b| ?[A-Za-z]+ per sec(ond)?\b)/X\3/g

# 3. Measured durations: a decimal number with a time unit (s, ms, us, µs,
#    ns, sec, secs) -> X.XX; the unit and spacing stay. Whole numbers are
#    left alone: "sleeping 2 s" is what a lesson asked for, not a measurement.
s/\b[0-9]+\.[0-9]+( ?)(s|ms|us|µs|ns|sec|secs)\b/X.XX\1\2/g

# 4. Ports: after an address (127.0.0.1:40123, [::1]:40123, localhost:40123)
#    or the word "port" -> PORT
s/(\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|\[[0-9a-fA-F:]*\]|\blocalhost):[0-9]{1,5}\b/\1:PORT/g
s/\b([Pp]ort) [0-9]{1,5}\b/\1 PORT/g

# 5. Process and thread ids: "pid 1234", "tid 1234", "thread 140234..." -> ID
s/\b(pid|PID|tid|TID|[Tt]hread)( ?[=:#]? ?)[0-9]+\b/\1\2ID/g

# 6. Addresses: 0x followed by 6 or more hex digits -> 0xADDR
s/\b0x[0-9a-fA-F]{6,}\b/0xADDR/g
