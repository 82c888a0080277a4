"""``serve`` takes the open-files limit the administrator allowed (the hard
limit), so thousands of IDLE sessions do not stop at the soft limit's 1,024."""

from __future__ import annotations

import resource

from academail.config.serve import raise_open_files_limit


def test_serve_raises_the_soft_open_files_limit_to_the_hard_one():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
    try:
        raised = raise_open_files_limit()
        assert raised == resource.getrlimit(resource.RLIMIT_NOFILE)[0] > 256
        assert raised == hard or hard == resource.RLIM_INFINITY
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
