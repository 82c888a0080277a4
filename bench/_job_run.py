"""``academail jobs run`` that also writes, at the end, its own CPU and that
of its delivery worker processes (reaped by closing the pool) to the JSON
file named first, so that bench/import_mbox.py tells the two apart."""

from __future__ import annotations

import json
import resource
import sys


def run(path: str) -> int:
    from academail.config.cli import main

    code = main(["jobs", "run"])
    from academail.delivery.workers import shared  # Django is set up by main

    shared().close()
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(path, "w") as out:
        json.dump({"own": own.ru_utime + own.ru_stime, "workers": workers.ru_utime + workers.ru_stime}, out)
    return code


if __name__ == "__main__":  # not in the workers, which import this file again (spawn)
    sys.exit(run(sys.argv[1]))
