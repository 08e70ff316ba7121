"""The mixed load of the scale-out rehearsal (bench/scale_rehearsal.py), and the fake arXiv
its worker ingests from.

Load: threads, each with its own HTTP connection to nginx, pick an action per request:
browsing (home, a paper page), search, a vote, a comment (logged-in users), a sign-up (a
new account; its verification mail goes through the outbox). Every request carries an
``X-Forwarded-For`` of its own visitor (10.x.y.z), which nginx appends its peer to, as a
proxy in front of it would. Every write is recorded with its outcome: ``acked`` (2xx/3xx:
the server said it is done), ``refused`` (4xx such as 429: it must not be in the
database) or ``unknown`` (5xx, 502 from a killed worker, a timeout: it may or may not be).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import httpx

WEIGHTS = {"home": 22, "paper": 30, "search": 25, "vote": 12, "comment": 5, "signup": 3,
           "trending": 3}
QUERIES = ["diffusion models", "graph neural networks", "large language model reasoning",
           "reinforcement learning robotics", "speech recognition", "image segmentation",
           "federated learning privacy", "retrieval augmented generation", "vision transformer",
           "contrastive learning", "protein structure", "code generation", "quantization",
           "\"mixture of experts\"", "causal inference", "3d reconstruction gaussian splatting"]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class User:
    username: str
    session: str  # pf_session cookie
    voted: set[str] = field(default_factory=set)
    csrf: tuple[str, str] | None = None  # (pf_csrf cookie, token)


@dataclass
class Results:
    # (route, status, ms, time); outcome -> the writes: (user, paper), body, email
    samples: list[tuple[str, int, float, float]] = field(default_factory=list)
    votes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    comments: dict[str, list[str]] = field(default_factory=dict)  # outcome -> body
    signups: dict[str, list[str]] = field(default_factory=dict)  # outcome -> email
    failures: dict[str, int] = field(default_factory=dict)  # exception name -> count
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: dict[str, list[Any]], outcome: str, item: Any) -> None:
        with self.lock:
            kind.setdefault(outcome, []).append(item)


def outcome(status: int) -> str:
    if 200 <= status < 400:
        return "acked"
    if 400 <= status < 500:
        return "refused"
    return "unknown"


class Visitor:
    """One load thread: a connection to nginx and the users it acts for."""

    def __init__(self, base: str, users: list[User], papers: list[str], results: Results,
                 run: str, seed: int) -> None:
        self.client = httpx.Client(base_url=base, timeout=30.0, follow_redirects=False)
        self.users, self.papers, self.results, self.run = users, papers, results, run
        self.rng = random.Random(seed)
        self.signups = 0
        self.seed = seed

    def address(self) -> str:
        r = self.rng
        return f"10.{r.randrange(1, 250)}.{r.randrange(0, 250)}.{r.randrange(1, 250)}"

    def request(self, route: str, method: str, url: str, **kw: Any) -> httpx.Response | None:
        headers = {"X-Forwarded-For": self.address(), **kw.pop("headers", {})}
        cookies = kw.pop("cookies", None)
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.client.cookies.clear()  # each request as its own visitor
        start = time.perf_counter()
        try:
            response: httpx.Response | None = self.client.request(method, url, headers=headers,
                                                                  **kw)
            status = response.status_code if response is not None else 0
        except httpx.HTTPError as exc:
            response, status = None, 0
            with self.results.lock:
                name = type(exc).__name__
                self.results.failures[name] = self.results.failures.get(name, 0) + 1
        ms = (time.perf_counter() - start) * 1000
        with self.results.lock:
            self.results.samples.append((route, status, ms, time.time()))
        return response

    def csrf(self, user: User) -> tuple[str, str] | None:
        if user.csrf is None:
            page = self.request("paper", "GET", f"/papers/{self.rng.choice(self.papers)}",
                                cookies={"pf_session": user.session})
            if page is None or page.status_code != 200:
                return None
            token = _CSRF.search(page.text)
            cookie = page.cookies.get("pf_csrf")
            if not token or not cookie:
                return None
            user.csrf = (cookie, token.group(1))
        return user.csrf

    def act(self, action: str) -> None:
        rng = self.rng
        if action == "home":
            self.request("home", "GET", "/")
        elif action == "trending":
            self.request("trending", "GET", "/trending")
        elif action == "paper":
            self.request("paper", "GET", f"/papers/{rng.choice(self.papers)}")
        elif action == "search":
            self.request("search", "GET", "/search", params={"q": rng.choice(QUERIES)})
        elif action in ("vote", "comment"):
            user = rng.choice(self.users)
            csrf = self.csrf(user)
            if csrf is None:
                return
            cookies = {"pf_session": user.session, "pf_csrf": csrf[0]}
            headers = {"X-CSRF-Token": csrf[1]}
            if action == "vote":
                paper = rng.choice(self.papers)
                if paper in user.voted:
                    return
                user.voted.add(paper)  # never twice: a second vote would take it back
                r = self.request("vote", "POST", f"/papers/{paper}/vote", cookies=cookies,
                                 headers={**headers, "Accept": "application/json"})
                self.results.add(self.results.votes, outcome(r.status_code if r else 0),
                                 (user.username, paper))
            else:
                body = f"rehearsal {self.run} {uuid.uuid4().hex}"
                r = self.request("comment", "POST", f"/papers/{rng.choice(self.papers)}/comments",
                                 cookies=cookies, headers=headers, data={"body": body})
                self.results.add(self.results.comments, outcome(r.status_code if r else 0), body)
        elif action == "signup":
            self.signup()

    def signup(self) -> None:
        self.signups += 1
        name = f"r{self.run}s{self.seed}n{self.signups}"
        email = f"{name}@example.org"
        address = self.address()
        form = self.request("signup-form", "GET", "/signup", headers={"X-Forwarded-For": address})
        token = _CSRF.search(form.text) if form is not None else None
        cookie = form.cookies.get("pf_csrf") if form is not None else None
        if not token or not cookie:
            return
        r = self.request("signup", "POST", "/signup", cookies={"pf_csrf": cookie},
                         headers={"X-Forwarded-For": address, "X-CSRF-Token": token.group(1)},
                         data={"username": name, "email": email,
                               "password": f"Pw-{uuid.uuid4().hex}"})
        self.results.add(self.results.signups, outcome(r.status_code if r else 0), email)

    def run_until(self, deadline: float) -> None:
        actions = list(WEIGHTS)
        weights = [WEIGHTS[a] for a in actions]
        while time.time() < deadline:
            self.act(self.rng.choices(actions, weights)[0])
        self.client.close()


def drive(base: str, users: list[User], papers: list[str], *, threads: int, seconds: float,
          run: str) -> Results:
    """Run the mixed load for ``seconds`` from ``threads`` threads; users are split between
    threads so that no two threads act for the same user at once."""
    results = Results()
    deadline = time.time() + seconds
    visitors = [Visitor(base, users[i::threads], papers, results, run, seed=i)
                for i in range(threads)]
    workers = [threading.Thread(target=v.run_until, args=(deadline,), daemon=True)
               for v in visitors]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results


# --- a fake arXiv: the RSS listing of a new day and the API's details of its papers -----

def fake_arxiv(papers: list[dict[str, Any]], day: dt.date) -> ThreadingHTTPServer:
    """Serve ``papers`` (dicts with id, title, abstract, authors, categories) as the RSS
    listing of ``day`` for every category (``/rss/<cat>``), and their details from the
    API (``/api/query?id_list=...``). Started in a thread; ``.server_address`` has the port."""
    by_id = {p["id"]: p for p in papers}
    stamp = dt.datetime.combine(day, dt.time(0, 0)).strftime("%a, %d %b %Y 00:00:00 -0500")

    def rss(category: str) -> bytes:
        items = "".join(
            f"<item><title>{escape(p['title'])}</title>"
            f"<link>https://arxiv.org/abs/{p['id']}</link>"
            f"<description>arXiv:{p['id']}v1 Announce Type: new \nAbstract: "
            f"{escape(p['abstract'])}</description>"
            f"<guid isPermaLink=\"false\">oai:arXiv.org:{p['id']}v1</guid>"
            + "".join(f"<category>{c}</category>" for c in p["categories"])
            + f"<pubDate>{stamp}</pubDate><arxiv:announce_type>new</arxiv:announce_type>"
            f"<dc:creator>{escape(', '.join(p['authors']))}</dc:creator></item>"
            for p in papers if category in p["categories"])
        return (
            "<?xml version='1.0' encoding='UTF-8'?><rss xmlns:arxiv=\"http://arxiv.org/schemas/"
            "atom\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" version=\"2.0\"><channel>"
            f"<title>{category} updates on arXiv.org</title><pubDate>{stamp}</pubDate>"
            f"{items}</channel></rss>").encode()

    def api(ids: list[str]) -> bytes:
        when = f"{day.isoformat()}T00:00:00Z"
        entries = "".join(
            f"<entry><id>http://arxiv.org/abs/{p['id']}v1</id><updated>{when}</updated>"
            f"<published>{when}</published><title>{escape(p['title'])}</title>"
            f"<summary>{escape(p['abstract'])}</summary>"
            + "".join(f"<author><name>{escape(a)}</name></author>" for a in p["authors"])
            + f"<arxiv:primary_category xmlns:arxiv=\"http://arxiv.org/schemas/atom\" "
            f"term=\"{p['categories'][0]}\"/>"
            + "".join(f"<category term=\"{c}\"/>" for c in p["categories"])
            + "</entry>"
            for p in (by_id[i.split("v")[0]] for i in ids if i.split("v")[0] in by_id))
        return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><feed xmlns=\"http://www.w3.org/"
                f"2005/Atom\">{entries}</feed>").encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlsplit(self.path)
            if "daily_papers" in url.path:  # Hugging Face: nothing new
                body, kind = b"[]", "application/json"
            elif url.path.startswith("/rss/"):
                body, kind = rss(url.path.rsplit("/", 1)[1]), "application/rss+xml"
            else:
                ids = ",".join(parse_qs(url.query).get("id_list", [""])).split(",")
                body, kind = api([i for i in ids if i]), "application/atom+xml"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
