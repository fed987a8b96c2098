"""The Dagster code location: one partition per ActiveCampaign account (README.md, "Many
accounts on Dagster").

- assets `abmatic/contacts`, `abmatic/accounts`, `abmatic/opportunities` (one `meltano run
  import` per account partition) and `activecampaign/push` (one `meltano run push`), run
  through Dagster Pipes (pipes_meltano.py reports the metadata);
- jobs `sync_account` (import then push), `import_account` and `push_account`;
- schedules `sync_small_accounts` / `sync_medium_accounts` / `sync_large_accounts` (the size
  table), each starting one run per account of its size;
- sensors `accounts_from_file` (registers the accounts file's accounts as partitions) and one
  `auto_push_<account>` per account (a push when an export file is new or changed).

One run per account at a time is the instance's job (dagster.yaml written by instance.py:
tag_concurrency_limits on the `account` tag); every run here carries that tag.
"""

# no `from __future__ import annotations`: Dagster reads the context annotations at runtime

import hashlib
import json
import os
import sys
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    DynamicPartitionsDefinition,
    Failure,
    MaterializeResult,
    PipesSubprocessClient,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset,
    define_asset_job,
    in_process_executor,
    multi_asset,
    schedule,
    sensor,
)

from .accounts import SIZE_TIERS, Account, AccountsFileError, load_accounts
from .environment import MissingKeyError, meltano_env, prepare_project, store_url
from .pipes_meltano import STORE_TABLES

ACCOUNT_TAG = "account"
PARTITIONS = "accounts"
accounts_partitions = DynamicPartitionsDefinition(name=PARTITIONS)
STORE_KEYS = [AssetKey(["abmatic", t]) for t in STORE_TABLES]
PUSH_KEY = AssetKey(["activecampaign", "push"])
EXPORT_PATTERNS = ("accounts*.jsonl", "visitors*.jsonl")  # what the push job reads (meltano.yml)
# Schedules and sensors start RUNNING unless ABMATIC_DAGSTER_AUTOMATION=off (the tests and
# the demo start their runs themselves).
_AUTOMATION_ON = os.environ.get("ABMATIC_DAGSTER_AUTOMATION", "on").lower() != "off"
_SENSOR_STATUS = DefaultSensorStatus.RUNNING if _AUTOMATION_ON else DefaultSensorStatus.STOPPED
_SCHEDULE_STATUS = (DefaultScheduleStatus.RUNNING if _AUTOMATION_ON
                    else DefaultScheduleStatus.STOPPED)


def _account(context: AssetExecutionContext) -> Account:
    try:
        return load_accounts().get(context.partition_key)
    except (AccountsFileError, KeyError) as exc:
        raise Failure(description=str(exc)) from exc


def _run(context: AssetExecutionContext, pipes: PipesSubprocessClient, job: str,
         account: Account):
    try:
        env = meltano_env(account)  # the key is read here: a missing variable stops this run
        url = store_url(account)
    except MissingKeyError as exc:
        context.log.error(str(exc))
        raise Failure(description=str(exc)) from None
    prepare_project(account)
    return pipes.run(
        context=context,
        command=[sys.executable, "-m", "abmatic_dagster.pipes_meltano"],
        cwd=str(account.project_dir),
        env=env,
        extras={"job": job, "account": account.name, "project": str(account.project_dir),
                "store_url": url, "store_schema": account.postgres_schema or "",
                "env_names": sorted(env), "store_display": account.store_display},
    )


@multi_asset(
    name="abmatic_import",
    specs=[AssetSpec(key, description=f"Abmatic `{key.path[-1]}` table of the account's store, "
                     "imported from ActiveCampaign (meltano run import)", group_name="abmatic",
                     kinds={"duckdb"}) for key in STORE_KEYS],
    partitions_def=accounts_partitions,
    can_subset=False,
)
def abmatic_import(context: AssetExecutionContext, pipes_subprocess_client: PipesSubprocessClient):
    account = _account(context)
    yield from _run(context, pipes_subprocess_client, account.import_job,
                    account).get_results()


@asset(
    key=PUSH_KEY,
    deps=[STORE_KEYS[0]],  # runs after the import in sync_account
    partitions_def=accounts_partitions,
    group_name="activecampaign",
    kinds={"activecampaign"},
    description="Abmatic export files pushed into ActiveCampaign (meltano run push): "
                "created / updated / unchanged / rejected / failed from the activity log",
)
def activecampaign_push(context: AssetExecutionContext,
                        pipes_subprocess_client: PipesSubprocessClient) -> MaterializeResult:
    return _run(context, pipes_subprocess_client, "push",
                _account(context)).get_materialize_result()


sync_account = define_asset_job(
    "sync_account", selection=[*STORE_KEYS, PUSH_KEY],
    executor_def=in_process_executor,
    description="Import (ActiveCampaign -> Abmatic store) then push, for one account.")
import_account = define_asset_job(
    "import_account", selection=STORE_KEYS,
    executor_def=in_process_executor,
    description="Import only (ActiveCampaign -> the account's Abmatic store), no push.")
push_account = define_asset_job(
    "push_account", selection=[PUSH_KEY],
    executor_def=in_process_executor,
    description="Push the account's export folder into ActiveCampaign.")


def _registered(instance, names: list[str]) -> list[str]:
    known = set(instance.get_dynamic_partitions(PARTITIONS))
    return [n for n in names if n not in known]


def _size_schedule(tier):
    @schedule(name=f"sync_{tier.name}_accounts", cron_schedule=tier.cron, job=sync_account,
              execution_timezone="UTC", default_status=_SCHEDULE_STATUS,
              description=f"import + push of every account of size {tier.label}")
    def _sync(context: ScheduleEvaluationContext):
        accounts = [a for a in load_accounts().accounts if a.tier.name == tier.name]
        missing = set(_registered(context.instance, [a.name for a in accounts]))
        when = context.scheduled_execution_time.isoformat() if \
            context.scheduled_execution_time else "now"
        requests = [RunRequest(run_key=f"{a.name}:{when}", partition_key=a.name,
                               tags={ACCOUNT_TAG: a.name})
                    for a in accounts if a.name not in missing]
        return requests or SkipReason(f"no registered account of size {tier.name}")
    return _sync


@sensor(name="accounts_from_file", minimum_interval_seconds=30,
        default_status=_SENSOR_STATUS,
        description="Adds every account of the accounts file as a partition.")
def accounts_from_file(context: SensorEvaluationContext):
    new = _registered(context.instance, load_accounts().names())
    if not new:
        return SkipReason("every account is registered")
    return SensorResult(dynamic_partitions_requests=[accounts_partitions.build_add_request(new)])


def export_fingerprint(folder: Path) -> dict[str, str]:
    """{file name: sha256} of the export files the push reads."""
    out = {}
    for pattern in EXPORT_PATTERNS:
        for path in sorted(folder.glob(pattern)):
            if path.is_file():
                out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def push_sensor(name: str):
    @sensor(name=f"auto_push_{name.replace('-', '_')}", job=push_account,
            minimum_interval_seconds=30, default_status=_SENSOR_STATUS,
            description=f"Pushes account {name!r} when an export file is new or changed.")
    def _auto_push(context: SensorEvaluationContext):
        try:
            account = load_accounts().get(name)
        except KeyError:  # removed from the file; the sensor goes at the next reload
            return SkipReason(f"account {name!r} is no longer in the accounts file")
        files = export_fingerprint(account.export_dir)
        seen = json.loads(context.cursor) if context.cursor else {}
        changed = sorted(f for f, digest in files.items() if seen.get(f) != digest)
        if not changed:
            return SkipReason(f"no new or changed export file in {account.export_dir}")
        context.update_cursor(json.dumps(files, sort_keys=True))
        key = hashlib.sha256(json.dumps({f: files[f] for f in changed}).encode()).hexdigest()
        run = RunRequest(run_key=f"{name}:{key[:16]}", partition_key=name,
                         tags={ACCOUNT_TAG: name, "abmatic/changed_files": ",".join(changed)[:200]})
        add = _registered(context.instance, [name])
        return SensorResult(
            run_requests=[run],
            dynamic_partitions_requests=[accounts_partitions.build_add_request(add)] if add else [])
    return _auto_push


def build_definitions() -> Definitions:
    try:
        names = load_accounts().names()
    except AccountsFileError:
        names = []  # the location still loads; runs then fail with the file's problem
    return Definitions(
        assets=[abmatic_import, activecampaign_push],
        jobs=[sync_account, import_account, push_account],
        schedules=[_size_schedule(t) for t in SIZE_TIERS],
        sensors=[accounts_from_file, *(push_sensor(n) for n in names)],
        resources={"pipes_subprocess_client": PipesSubprocessClient()},
    )


defs = build_definitions()
