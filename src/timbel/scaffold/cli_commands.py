"""``timbel scaffold`` for a directory or git URL (no database); a registered system is in cli_system.

Why two modes in one command: a team without Timbel's server scaffolds a checkout or git URL into a
directory for review (no database), while an operator scaffolds or commits a registered system exactly as
the wizard would (same plan, same templates, same checks). Exit codes: 0 done, 1 the work could not be
done (a check failed, nothing deployable, commit or clone failed), 2 the command line is wrong (nothing
is written). Only ``typer`` is imported at module level: ``timbel analyze`` must start fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from timbel.analysis.schema import AnalysisReport
    from timbel.scaffold.generate import Bundle
    from timbel.scaffold.plan import DeliveryPlan

# Written into the Argo CD objects when no --gitops-repo is given (``.invalid`` never resolves).
PLACEHOLDER_GITOPS_REPO = "https://gitops.example.invalid/change-me.git"
MAX_DOCKERFILE_BYTES = 256 * 1024


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error on stderr and exit (2: the command line is wrong; 1: the work failed)."""
    typer.echo(f"timbel: {message}", err=True)
    raise typer.Exit(code)


def scaffold(
    target: Annotated[str, typer.Argument(help="A local directory, a git URL, or a registered system slug.")],
    out: Annotated[Path | None, typer.Option(help="Write the files here (GitOps layout + app/).")] = None,
    env: Annotated[str | None, typer.Option(help="Environments, comma separated: dev,stg,prod.")] = None,
    domain: Annotated[str | None, typer.Option(help="Domain code (path/URL; default: default).")] = None,
    system: Annotated[
        str | None, typer.Option(help="System slug (path/URL; default: the repo name).")
    ] = None,
    registry: Annotated[str | None, typer.Option(help="Image repository prefix.")] = None,
    gitops_repo: Annotated[str | None, typer.Option(help="GitOps repository URL (path/URL mode).")] = None,
    ref: Annotated[str | None, typer.Option(help="Branch, tag or commit to clone (URLs only).")] = None,
    allow_host: Annotated[
        list[str] | None, typer.Option("--allow-host", help="Permit an internal host or CIDR (repeatable).")
    ] = None,
    commit: Annotated[bool, typer.Option("--commit", help="Commit to GitOps (SYSTEM mode).")] = False,
    why: Annotated[str | None, typer.Option(help="Why (required with --commit).")] = None,
) -> None:
    """Generate a system's delivery files; write them to --out, or commit them to GitOps (--commit)."""
    from timbel.analysis.cli_format import looks_like_url

    envs = parse_environments(env)
    if out is not None and out.exists() and not out.is_dir():
        fail(f"--out {out} exists and is not a directory")
    for name, value in (("--domain", domain), ("--system", system)):
        if value is not None:
            _label(name, value)
    local = Path(target).expanduser()
    if local.is_dir() or looks_like_url(target):
        if commit or why is not None:
            fail("--commit and --why work only with a registered system; scaffold with --out to review")
        if out is None:
            fail("--out DIR is required when scaffolding a directory or a git URL")
        if ref is not None and local.is_dir():
            fail("--ref works only with a git URL; check the ref out locally instead")
        report, dockerfiles = _analyse(target, local=local, ref=ref, allow_host=allow_host or [])
        plan = _plan_from(report, local=local, target=target, envs=envs, domain=domain, system=system,
                          registry=registry, gitops_repo=gitops_repo)  # fmt: skip
        from timbel.scaffold.generate import generate
        from timbel.scaffold.seed_templates import seed_specs_for_plan

        bundle = generate(plan, templates=seed_specs_for_plan(plan), existing_dockerfiles=dockerfiles)
        write_and_report(bundle, out=out)
        return
    if "/" in target or local.exists():
        fail(f"{target} is neither a directory, a git URL nor a system slug")
    wrong = [n for n, v in (("--domain", domain), ("--system", system), ("--gitops-repo", gitops_repo),
                            ("--ref", ref), ("--allow-host", allow_host)) if v]  # fmt: skip
    if wrong:
        fail(f"{', '.join(wrong)} apply to a directory or git URL, not to the registered system {target}")
    if commit and not (why or "").strip():
        fail("--commit needs --why TEXT: the reason goes into the commit message")
    if why is not None and not commit:
        fail("--why goes with --commit")
    from timbel.scaffold.cli_system import scaffold_system

    scaffold_system(target, out=out, envs=envs, registry=registry, commit=commit, why=(why or "").strip())


def parse_environments(value: str | None) -> list[str] | None:
    """Parse ``--env dev,stg`` (None when not given); unknown or repeated names exit 2."""
    from timbel.scaffold.plan import ENVIRONMENTS

    if value is None:
        return None
    names = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [n for n in names if n not in ENVIRONMENTS]
    if not names or unknown or len(set(names)) != len(names):
        fail(f"--env takes distinct names from {','.join(ENVIRONMENTS)}, comma separated; got {value!r}")
    return names


def _label(option: str, value: str) -> str:
    """Accept a DNS-1123 label for an option; anything else exits 2."""
    from timbel.scaffold.plan import check_label

    try:
        return check_label(value)
    except ValueError as exc:
        fail(f"{option} {value!r}: {exc}")


def _analyse(
    target: str, *, local: Path, ref: str | None, allow_host: list[str]
) -> tuple[AnalysisReport, dict[str, str]]:
    """Analyse a directory or URL; also return the texts of the repository's own Dockerfiles."""
    from timbel.analysis import analyzer, cli_format
    from timbel.analysis.clone import CloneFailed
    from timbel.analysis.files import TooManyFilesError
    from timbel.analysis.schema import SourceInfo
    from timbel.analysis.url_guard import AllowList, UnsafeRepositoryUrl

    progress = cli_format.stderr_progress if sys.stderr.isatty() else None
    texts: dict[str, str] = {}

    def keep_dockerfiles(tree: Path, report: AnalysisReport) -> None:
        texts.update(_read_dockerfiles(tree, report.delivery.dockerfiles))

    try:
        if local.is_dir():
            report = analyzer.analyze_path(
                local, source=SourceInfo(path=str(local.resolve())), on_progress=progress
            )
            keep_dockerfiles(local.resolve(), report)
        else:
            allow = AllowList.from_entries(allow_host)
            report = analyzer.analyze_url(target, ref=ref, allow=allow, on_progress=progress,
                                          inspect=keep_dockerfiles)  # fmt: skip
    except UnsafeRepositoryUrl as exc:
        fail(f"repository URL refused: {exc.detail}")
    except CloneFailed as exc:
        fail(exc.detail, 1)
    except TooManyFilesError as exc:
        fail(str(exc), 1)
    if progress is not None:
        typer.echo("", err=True)
    return report, texts


def _read_dockerfiles(tree: Path, paths: list[str]) -> dict[str, str]:
    """Read the Dockerfiles the analysis found (regular files inside the tree only, bounded in size)."""
    found: dict[str, str] = {}
    for relative in paths:
        path = tree / relative
        if path.is_file() and not path.is_symlink() and path.resolve().is_relative_to(tree):
            found[relative] = path.read_bytes()[:MAX_DOCKERFILE_BYTES].decode("utf-8", "replace")
    return found


def _plan_from(
    report: AnalysisReport, *, local: Path, target: str, envs: list[str] | None, domain: str | None,
    system: str | None, registry: str | None, gitops_repo: str | None,
) -> DeliveryPlan:  # fmt: skip
    """The default plan from the report with the options; the placeholder GitOps URL when none is given."""
    from pydantic import ValidationError

    from timbel.scaffold.plan import to_label
    from timbel.scaffold.plan_from_report import NoDeployableService, plan_from_report

    if gitops_repo is not None and not gitops_repo.strip():
        fail("--gitops-repo must not be empty")
    name = local.resolve().name if local.is_dir() else target.rstrip("/").replace(":", "/").rsplit("/", 1)[-1]
    try:
        plan = plan_from_report(
            report, domain=domain or "default", system=system or to_label(name.removesuffix(".git")),
            registry=registry, gitops_repo_url=gitops_repo or PLACEHOLDER_GITOPS_REPO, environments=envs,
        )  # fmt: skip
    except ValidationError as exc:
        error = exc.errors()[0]
        fail(f"{'.'.join(str(p) for p in error['loc']) or 'plan'}: {error['msg']}")
    except NoDeployableService as exc:
        fail(str(exc), 1)
    if gitops_repo is None:
        typer.echo(f"timbel: warning: no --gitops-repo; the Argo CD objects name the placeholder "
                   f"{PLACEHOLDER_GITOPS_REPO} (replace it before applying them)", err=True)  # fmt: skip
    return plan


def write_and_report(bundle: Bundle, *, out: Path | None) -> None:
    """Write the bundle (when --out), print files and checks, exit 1 when a check found an error."""
    from timbel.scaffold.generate import APP_DIR, write_bundle

    if out is not None:
        write_bundle(bundle, out)
        typer.echo(
            f"wrote {len(bundle.files)} files to {out} (GitOps layout; application files in {APP_DIR}/)"
        )
    for item in bundle.files:
        where = item.path if item.target == "gitops" else f"{APP_DIR}/{item.path}"
        typer.echo(f"  {item.target:<6}  {item.kind:<20}  {where}")
    errors = sum(1 for c in bundle.checks if c.severity == "error")
    typer.echo(f"checks: {errors} errors, {len(bundle.checks) - errors} warnings")
    for check in bundle.checks:
        typer.echo(f"  {check.severity:<7}  {check.path}: {check.message}")
    if not bundle.ok:
        written = "the files were written for review" if out is not None else "nothing was written"
        fail(f"{errors} check(s) failed; {written}", 1)
