"""`python -m abmatic_dagster COMMAND` (what scripts/dagster.sh runs in .tools/dagster).

    demo                      three sandbox accounts synced in parallel; a table; exit 0
    dev                       the UI on the demo's accounts (schedules and sensors on)
    instance HOME [--max-concurrent-runs N]   write HOME/dagster.yaml (the run queue)
    register                  add the accounts of $ABMATIC_ACCOUNTS_FILE as partitions of
                              the instance in $DAGSTER_HOME
    check                     validate $ABMATIC_ACCOUNTS_FILE and print its accounts
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/dagster.sh")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("demo")
    sub.add_parser("dev")
    inst = sub.add_parser("instance")
    inst.add_argument("home", type=Path)
    inst.add_argument("--max-concurrent-runs", type=int, default=4)
    sub.add_parser("register")
    sub.add_parser("check")
    args = parser.parse_args(argv)

    if args.cmd == "demo":
        from .demo import demo
        return demo()
    if args.cmd == "dev":
        from .demo import dev_ui
        return dev_ui()
    if args.cmd == "instance":
        from .instance import write_instance
        print(write_instance(args.home, args.max_concurrent_runs))
        return 0
    from .accounts import AccountsFileError, load_accounts
    try:
        accounts = load_accounts()
    except AccountsFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.cmd == "check":
        for a in accounts.accounts:
            key = "set" if os.environ.get(a.api_key_env) else "NOT SET"
            store = a.store_display
            if a.postgres_url_env:
                store += " (set)" if os.environ.get(a.postgres_url_env) else " (NOT SET)"
            print(f"{a.name:<20} {a.api_url:<40} key {a.api_key_env} ({key})  "
                  f"store {store}  {a.tier.name}: {a.tier.cron}  exports {a.export_dir}")
        return 0
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        print("error: DAGSTER_HOME is not set", file=sys.stderr)
        return 2
    from .deployment import register_accounts
    register_accounts(Path(home), accounts.names())
    names = ", ".join(accounts.names())
    print(f"registered {len(accounts.accounts)} account partition(s): {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
