"""Write paperfeed/data/demo-hf-daily.jsonl.gz: the Hugging Face daily-papers records of the
demo's days, trimmed to the fields paperfeed reads.

Usage: python bench/make_demo_hf.py ../shared/data/hf-daily [paperfeed/data/demo-listings.jsonl.gz]

The records are real ``/api/daily_papers`` items (see ../shared/README.md for the source and
its licence), one JSON object a line, each keeping its ``paper.submittedOnDailyAt`` day.
Papers the demo listings already hold keep no abstract here (the arXiv text wins anyway).
"""

import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "paperfeed" / "data" / "demo-hf-daily.jsonl.gz"
PAPER_FIELDS = ("id", "title", "summary", "authors", "publishedAt", "submittedOnDailyAt",
                "upvotes", "githubRepo", "githubStars", "projectPage", "ai_summary",
                "ai_keywords", "discussionId")


def trim(item: dict, known: set[str]) -> dict:
    paper = {k: item["paper"][k] for k in PAPER_FIELDS if k in item["paper"]}
    paper["authors"] = [{"name": a["name"]} for a in paper.get("authors", [])
                        if not a.get("hidden")]
    if paper["id"] in known:
        paper.pop("summary", None)
    who = item["paper"].get("submittedOnDailyBy") or {}
    if who.get("user"):
        paper["submittedOnDailyBy"] = {"user": who["user"], "fullname": who.get("fullname")}
    org = item.get("organization") or item["paper"].get("organization")
    out = {"paper": paper, "numComments": item.get("numComments", 0)}
    if isinstance(org, dict) and org.get("name"):
        out["organization"] = {"name": org["name"], "fullname": org.get("fullname")}
    return out


def main(hf_dir: str, listings: str = str(ROOT / "paperfeed/data/demo-listings.jsonl.gz")) -> None:
    with gzip.open(listings, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    known = {r["id"] for r in rows}
    days = sorted({r["listing_date"] for r in rows})
    lines = []
    for path in sorted(Path(hf_dir).glob("*.json.gz")):
        day = path.name[:10]
        if days[0] <= day <= days[-1]:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                for item in json.load(f):
                    if not item["paper"].get("submittedOnDailyAt"):
                        item["paper"]["submittedOnDailyAt"] = f"{day}T00:00:00.000Z"
                    lines.append(json.dumps(trim(item, known), ensure_ascii=False) + "\n")
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as f:
        f.writelines(lines)
    print(f"{len(lines)} records, {days[0]} .. {days[-1]} -> {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(*sys.argv[1:])
