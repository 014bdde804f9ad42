# Real CrisisLex T6 tweets, each at its real time (from its snowflake id), shifted as one block per event so that:
#  - the 2013 Alberta floods (with the Bonnybrook bridge train derailment) end 30 days before "now";
#  - the 2013 Oklahoma tornado and West Texas explosion tweets fill the last 7 days.
import csv, json, datetime, os, sys
FIXTURES = os.environ.get("FIXTURES", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "fixtures"))
now = datetime.datetime.now(datetime.timezone.utc)
def t(i): return datetime.datetime.fromtimestamp(((int(i) >> 22) + 1288834974657) / 1000, datetime.timezone.utc)
out = []
def load(event, end_ago_days, n):
    rows = list(csv.reader(open(f"{FIXTURES}/crisislex-t6/{event}/{event}-ontopic_offtopic.csv", encoding="utf-8")))[1:]
    rows = [r for r in rows if len(r) >= 3][:n]
    times = [t(r[0].strip("'")) for r in rows]
    shift = (now - datetime.timedelta(days=end_ago_days)) - max(times)
    for r, ts in zip(rows, times):
        out.append({"source": "crisislex", "id": r[0].strip("'"), "text": r[1], "created_at": (ts + shift).isoformat(), "author": event.lower()})
load("2013_Alberta_Floods", 30, 10033)
load("2013_Oklahoma_Tornado", 0.1, 2500)
load("2013_West_Texas_Explosion", 3, 2500)
out.sort(key=lambda p: p["created_at"])
with open(sys.argv[1] if len(sys.argv) > 1 else "replay.jsonl", "w") as f:
    for p in out: f.write(json.dumps(p) + "\n")
print(len(out), "posts;", sum("derail" in p["text"].lower() for p in out), "mention a derailment")
