"""``python -m activecampaign_sandbox --port 8765 --seed demo --contacts 5000``."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time

from activecampaign_sandbox.behaviour import AccountBehaviour
from activecampaign_sandbox.seed import SEEDS
from activecampaign_sandbox.server import DEFAULT_API_KEY, Sandbox


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="activecampaign-sandbox",
                                     description="Local ActiveCampaign API v3 sandbox.")
    parser.add_argument("--port", type=int, default=8765, help="port (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", default="demo", choices=SEEDS)
    parser.add_argument("--contacts", type=int, default=1000,
                        help="number of seeded contacts (demo seed)")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--rate-limit", type=float, default=5.0,
                      help="requests per second per account (default 5)")
    rate.add_argument("--no-rate-limit", action="store_true", help="turn the 5 req/s limit off")
    parser.add_argument("--no-bulk-limits", action="store_true",
                        help="turn off the bulk-import 20/100 requests per minute limits")
    parser.add_argument("--import-delay", type=float, default=0.2,
                        help="seconds before a queued bulk import is applied")
    parser.add_argument("--import-queue-seconds", type=float, default=0.0, metavar="S",
                        help="bulk imports wait in a queue, one batch every S seconds (a busy "
                             "account; default 0 = no queue, spec §11)")
    parser.add_argument("--deny", action="append", default=[], metavar="OBJECT",
                        help="the API user may not read this object type (e.g. deals): its "
                             "routes answer the permission 403 (repeatable, spec §11)")
    parser.add_argument("--custom-field-paging", choices=("all", "first", "offset"),
                        default="all", help="custom-field meta/data lists: all = ignore "
                        "limit and offset (default), first = honour limit only, offset = both")
    parser.add_argument("--segment-ready-after", type=int, default=1, metavar="N",
                        help="GET /contacts?segmentid= answers 'not ready' to the first N "
                             "calls of an evaluation (default 1; 0 = synchronous, spec §11)")
    parser.add_argument("--date-filters",
                        choices=("exact", "account-time", "account-day", "next-day"),
                        default="exact", help="how filters[updated_after] is read: exact "
                        "(offsets honoured), account-time (offset ignored, wall time in account "
                        "time), account-day (offset and time ignored: the date in account time), "
                        "next-day (the date only, _after from the next day: shifted later)")
    parser.add_argument("--no-sideloads", action="store_true",
                        help="GET /contacts ignores include= (an account that does not "
                             "sideload, spec §11)")
    parser.add_argument("--no-ids-filter", action="store_true",
                        help="GET /contacts ignores ids[] and answers the unfiltered list "
                             "(unknown params are ignored, spec §2)")
    parser.add_argument("--membership-bumps-udate", action="store_true",
                        help="a list, tag, account or automation change alone bumps the "
                             "contact's udate (default: it does not; unconfirmed, spec §11)")
    return parser.parse_args(argv)


def behaviour_from(args: argparse.Namespace) -> AccountBehaviour:
    """The AccountBehaviour the flags ask for (defaults: the documented behaviour)."""
    return AccountBehaviour(sideloads=not args.no_sideloads,
                            import_queue_seconds=args.import_queue_seconds,
                            denied_objects=frozenset(args.deny),
                            custom_field_paging=args.custom_field_paging,
                            segment_ready_after=args.segment_ready_after,
                            date_filters=args.date_filters,
                            membership_bumps_udate=args.membership_bumps_udate,
                            ids_filter=not args.no_ids_filter)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    sandbox = Sandbox(seed=args.seed, contacts=args.contacts,
                      rate_limit=None if args.no_rate_limit else args.rate_limit,
                      api_key=args.api_key, host=args.host, port=args.port,
                      import_delay=args.import_delay,
                      bulk_limits=None if args.no_bulk_limits else (20, 100),
                      behaviour=behaviour_from(args))
    sandbox.start()
    key_note = DEFAULT_API_KEY if args.api_key == DEFAULT_API_KEY else "(the --api-key value)"
    print(f"ActiveCampaign sandbox: {sandbox.base_url}  (API {sandbox.base_url}/api/3, "
          f"seed {args.seed}, {args.contacts if args.seed == 'demo' else 0} contacts, "
          f"seeded in {time.monotonic() - started:.1f} s)", flush=True)
    print(f"API key: {key_note}; rate limit: "
          f"{'off' if args.no_rate_limit else f'{args.rate_limit:g} req/s'}; "
          f"stats at {sandbox.base_url}/_sandbox/stats. Ctrl-C to stop.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
