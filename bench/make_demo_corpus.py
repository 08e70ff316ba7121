"""Write paperfeed/data/demo-listings.jsonl.gz: the last N listing days of a listing file."""

import gzip
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "paperfeed" / "data" / "demo-listings.jsonl.gz"


def main(source: str, days: int = 30) -> None:
    with gzip.open(source, "rt", encoding="utf-8") as f:
        lines = f.readlines()
    dates = sorted({json.loads(line)["listing_date"] for line in lines})
    keep = set(dates[-days:])
    picked = [line for line in lines if json.loads(line)["listing_date"] in keep]
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as f:
        f.writelines(picked)
    print(f"{len(picked)} papers, {min(keep)} .. {max(keep)} -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30)
