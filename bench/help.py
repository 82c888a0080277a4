"""Help centre search over 500 articles: p50/p95 of ``help.articles.search``
(the function the search page calls) and of the whole search page through
Django's test client, for queries of one to three words, with and without
accents. Goal (issue 16): p95 < 50 ms.

    .venv/bin/python bench/help.py [--articles 500] [--queries 300]
    .venv/bin/python bench/help.py --database-url postgres://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import random
import time

import _common as c

QUERIES = ["numen", "mot de passe", "téléphone", "boite pleine", "hameconnage lien", "réunion parents",
           "corbeille", "transfert adresse personnelle", "élève", "conseil de classe", "zzzz introuvable"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with c.bench_home(args.database_url):
        c.migrate()
        c.setup_django()
        from django.test import Client

        from academail.help.articles import Draft, check_save_article, search
        from academail.help.models import Article

        rng = random.Random(16)
        shipped = Article.objects.count()
        for i in range(args.articles - shipped):
            body = "\n\n".join(" ".join(c.french_lines(rng, 600)) for _ in range(4))
            check_save_article(None, Draft(c.subject(rng) + f" ({i})", "", "courrier", "autre", body),
                               new_slug=f"article-{i}")
        total = Article.objects.count()
        c.banner(f"help search over {total} articles ({c.db_label()})")
        times: list[float] = []
        page_times: list[float] = []
        client = Client(HTTP_HOST="127.0.0.1")
        for i in range(args.queries):
            query = QUERIES[i % len(QUERIES)]
            started = time.perf_counter()
            search(query, reader=None)
            times.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            response = client.get("/aide/", {"q": query})
            page_times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        started = time.perf_counter()
        response = client.get("/aide/numen/")
        article_ms = (time.perf_counter() - started) * 1000
        print(f"search():      p50 {c.percentile(times, 50):.2f} ms  p95 {c.percentile(times, 95):.2f} ms  (goal p95 < 50 ms)")
        print(f"search page:   p50 {c.percentile(page_times, 50):.2f} ms  p95 {c.percentile(page_times, 95):.2f} ms")
        print(f"article page:  {article_ms:.2f} ms (one request after the searches)")


if __name__ == "__main__":
    main()
