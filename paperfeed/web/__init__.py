"""The web side: HTML pages (pages/), the JSON API (api/), templates/ and static/."""
