"""The FastAPI application: the JSON API under ``/api/`` and the page at ``/``.

Routing and JSON only: every answer comes from a function of :mod:`rtadvisor.app`, the same one the
CLI calls, so ``GET /api/doctor?symptom=X`` and ``rtadvisor doctor --symptom X --json`` agree.

>>> from rtadvisor.web import create_app
>>> api = create_app()            # default store, loopback Host names, 1 MiB body limit
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from rtadvisor import app as use
from rtadvisor.app.server import WebSettings
from rtadvisor.errors import InputError, RtadvisorError
from rtadvisor.model import (
    Claim,
    ClaimVerdict,
    Comparison,
    Decision,
    DecisionTree,
    DoctorReport,
    Evidence,
    GeneratedBundle,
    IsolationOverheadView,
    OrderVerdict,
    Preset,
    RelationNetwork,
    RunSummary,
    RuntimeSummary,
    StoredRun,
    SymptomReport,
    TroubleshootingResult,
)

from .errors import (
    BODY_RESPONSES,
    COMMON_RESPONSES,
    NOT_FOUND_RESPONSE,
    ErrorResponse,
    UnsupportedMediaType,
    error_body,
    field_from_loc,
    redact,
    status_of,
)
from .guards import MAX_JSON_DEPTH, BodyLimit, HostCheck, finite, parse_json
from .schemas import GenerateBody, Health

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
INDEX_HTML = WEB_DIR / "templates" / "index.html"
FLEET_HTML = WEB_DIR / "templates" / "fleet.html"


class StrictJSONResponse(JSONResponse):
    """JSON that every parser accepts: NaN and infinities become ``null`` (never ``Infinity``)."""

    def render(self, content: Any) -> bytes:
        return super().render(finite(content))


def _json_body(schema_ref: str, description: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": description, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}}


async def _read_json(request: Request) -> Any:
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if ctype and ctype != "application/json" and not ctype.endswith("+json"):
        raise UnsupportedMediaType(f"content-type: expected application/json, got {ctype!r}", field="content-type")
    return parse_json(await request.body())


def create_app(db: str | None = None, *, settings: WebSettings | None = None) -> FastAPI:
    """Build the app over the result store ``db`` (a path or URL; ``None``: the store's default).

    ``settings`` (see :class:`rtadvisor.app.server.WebSettings`) sets the body limit and the Host
    names answered; without it: loopback names only, 1 MiB bodies.
    """
    settings = settings or WebSettings(db=db)
    store = settings.db if settings.db is not None else db
    version = use.version()
    api = FastAPI(
        title="rtadvisor",
        version=version,
        # Swagger UI and ReDoc load their scripts from a CDN; the page must work offline, so the
        # API is documented by /openapi.json alone.
        docs_url=None,
        redoc_url=None,
        default_response_class=StrictJSONResponse,
        description=(
            "Choose the isolation runtime for a cloud-native workload, explain the choice, compare "
            "the sources' claims with this node's measurements, and generate deployment artifacts. "
            "Every answer is what the matching `rtadvisor ... --json` command prints. "
            "Errors are JSON: `{\"error\": one line, \"field\": the field at fault or null}`. "
            f"Request bodies are limited to {settings.max_body_bytes} bytes (413) and "
            f"{MAX_JSON_DEPTH} levels of nesting; the Host header must name this server (400)."
        ),
    )
    api.state.settings = settings

    def openapi() -> dict[str, Any]:
        # The JSON bodies are read by the routes themselves (strictly, see guards.parse_json), so
        # FastAPI does not see their models: add them to the schema's components by hand.
        if api.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=api.title, version=api.version, description=api.description,
                                 routes=api.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            extra = GenerateBody.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in extra.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components["GenerateBody"] = extra
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]

    # ------------------------------------------------------------------ errors, by class

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = field_from_loc(tuple(first.get("loc", ())))
        detail = [{"loc": [p if isinstance(p, (str, int)) else str(p) for p in e.get("loc", ())],
                   "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in errors]
        message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
        return StrictJSONResponse(error_body(message, field, detail), status_code=422)

    @api.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own refusals (wrong method, unknown static file) in our format.
        message = str(exc.detail) if exc.detail else f"HTTP {exc.status_code}"
        response = StrictJSONResponse(error_body(message), status_code=exc.status_code)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @api.exception_handler(RtadvisorError)
    async def _ours(request: Request, exc: RtadvisorError) -> JSONResponse:
        status = status_of(exc)
        detail = None
        if status == 422:
            loc = ["body", *exc.field.split(".")] if exc.field else ["body"]
            detail = [{"loc": loc, "msg": str(exc), "type": type(exc).__name__}]
        return StrictJSONResponse(error_body(str(exc), exc.field, detail), status_code=status)

    @api.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        # A bug of ours: say so in one line; the traceback stays in the server's log only.
        return StrictJSONResponse(error_body(f"internal error ({type(exc).__name__}); please report it"),
                                  status_code=500)

    # ------------------------------------------------------------------ page and assets

    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @api.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(INDEX_HTML.read_text(encoding="utf-8").replace("{{version}}", version))

    @api.get("/fleet", response_class=HTMLResponse, include_in_schema=False)
    def fleet_page() -> HTMLResponse:
        return HTMLResponse(FLEET_HTML.read_text(encoding="utf-8").replace("{{version}}", version))

    @api.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response((STATIC_DIR / "favicon.svg").read_bytes(), media_type="image/svg+xml")

    # ------------------------------------------------------------------ API: meta and decisions

    @api.get("/api/health", response_model=Health, tags=["meta"])
    def health() -> Health:
        """Liveness, version and the API's limits."""
        return Health(version=version, limits={"max_body_bytes": settings.max_body_bytes,
                                               "max_json_depth": MAX_JSON_DEPTH})

    @api.post("/api/recommend", response_model=Decision, tags=["decide"],
              responses={**COMMON_RESPONSES, **BODY_RESPONSES},
              openapi_extra=_json_body("Workload", "The workload profile: the fields of a profile file. A "
                                       "field left out or null is unknown (the decision says what it assumed)."))
    async def recommend(
        request: Request,
        evidence: Annotated[bool, Query(description="Score with this node's measurements instead of claims")] = False,
        rulebook: Annotated[Literal["practice", "sources"], Query(
            description="practice: current upstream practice (default); sources: the source documents' rules")] = "practice",
        pool: Annotated[str | None, Query(max_length=63, description=(
            "Decide with the evidence of this node pool's nodes (medians across them; runtimes the pool cannot "
            "run are excluded with why); implies evidence. 404 for a pool with no node in the store"))] = None,
    ) -> Decision:
        """Recommend a runtime: what ``rtadvisor recommend PROFILE --json [--rulebook R]`` prints.

        The profile is validated exactly as a profile file is (same messages; ``"64"`` is not a
        number, 2.5 services is an error, ``null`` is unknown).
        """
        data = await _read_json(request)
        if not isinstance(data, dict):
            raise InputError(f"request body: expected a mapping of profile fields, got {type(data).__name__}",
                             field="body")

        def run() -> Decision:
            workload = use.parse_workload(data, source="request body")
            return use.recommend(workload, rulebook=rulebook, use_evidence=evidence, db=store, pool=pool)

        return await run_in_threadpool(run)

    @api.get("/api/presets", response_model=list[Preset], tags=["decide"])
    def presets() -> tuple[Preset, ...]:
        """Profile presets for the sources' scenarios (edge, serverless, AI inference, ...)."""
        return use.presets()

    # ------------------------------------------------------------------ API: knowledge

    @api.get("/api/runtimes", response_model=list[RuntimeSummary], responses=COMMON_RESPONSES, tags=["knowledge"])
    def runtimes() -> tuple[RuntimeSummary, ...]:
        """Every candidate runtime (``rtadvisor kb runtimes --json``)."""
        return use.runtimes()

    @api.get("/api/runtimes/{runtime_id}", response_model=use.RuntimeDetail,
             responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE}, tags=["knowledge"])
    def runtime(runtime_id: Annotated[str, PathParam(max_length=200, description="A runtime id, e.g. runc")]) -> Any:
        """One runtime with its claims and scored values (``rtadvisor kb show ID --json``)."""
        return use.runtime(runtime_id)

    @api.get("/api/claims", response_model=list[Claim], responses=COMMON_RESPONSES, tags=["knowledge"])
    def claims() -> tuple[Claim, ...]:
        """Every numeric claim of the sources, with its source tag."""
        return use.claims()

    @api.get("/api/tree", response_model=DecisionTree, responses=COMMON_RESPONSES, tags=["knowledge"])
    def tree() -> DecisionTree:
        """The S-select decision tree as nodes and yes/no edges."""
        return use.decision_tree()

    @api.get("/api/scenarios", response_model=use.ScenarioTables, responses=COMMON_RESPONSES, tags=["knowledge"])
    def scenarios() -> Any:
        """The scenario matrix (S-select) and the case table (S-cases)."""
        return use.scenarios()

    @api.get("/api/routes", response_model=use.RoutesFile, responses=COMMON_RESPONSES, tags=["knowledge"])
    def routes() -> Any:
        """The three Wasm integration routes (S-wasm) and the rules that choose one."""
        return use.routes()

    @api.get("/api/network", response_model=RelationNetwork, responses=COMMON_RESPONSES, tags=["knowledge"])
    def network() -> RelationNetwork:
        """The relation network (S-network) as a graph."""
        return use.network()

    @api.get("/api/troubleshooting", response_model=TroubleshootingResult, responses=COMMON_RESPONSES,
             tags=["knowledge"])
    def troubleshooting(
        symptom: Annotated[str | None, Query(max_length=500, description="Search by symptom, e.g. 'kubectl logs empty'")] = None,
    ) -> TroubleshootingResult:
        """The troubleshooting table (S-wasm), or the rows matching a symptom
        (``rtadvisor kb troubleshoot SYMPTOM --json``)."""
        return use.troubleshoot(symptom)

    # ------------------------------------------------------------------ API: evidence

    @api.get("/api/evidence", response_model=Evidence, responses=COMMON_RESPONSES, tags=["evidence"])
    def evidence() -> Evidence:
        """This node's measurements (from the result store) that decisions can use."""
        return use.load_evidence(store)

    @api.get("/api/runs", response_model=list[RunSummary], responses=COMMON_RESPONSES, tags=["evidence"])
    def runs() -> tuple[RunSummary, ...]:
        """Stored bench runs, newest first (``rtadvisor bench history --json``)."""
        return use.list_runs(store)

    @api.get("/api/runs/{run_id}", response_model=StoredRun,
             responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE}, tags=["evidence"])
    def run(run_id: Annotated[str, PathParam(max_length=200, description="A run id, a unique prefix, or latest")]) -> StoredRun:
        """One stored bench run with its results (``rtadvisor bench show ID --json``)."""
        return use.show_run(store, run_id)

    @api.get("/api/verdicts", response_model=list[ClaimVerdict], responses=COMMON_RESPONSES, tags=["evidence"])
    def verdicts() -> tuple[ClaimVerdict, ...]:
        """Every claim with the closest measurement and a verdict (``rtadvisor claims --json``'s ``claims``)."""
        return use.check_claims(store)

    @api.get("/api/verdicts/orders", response_model=list[OrderVerdict], responses=COMMON_RESPONSES,
             tags=["evidence"])
    def order_verdicts() -> tuple[OrderVerdict, ...]:
        """The claimed isolation and overhead orders (isolation ratings, S-network's layer orders, the
        kernel-I/O speedup, the GPU claims) judged on this node (``rtadvisor claims --json``'s ``orders``)."""
        return use.order_verdicts(store)

    @api.get("/api/isolation", response_model=IsolationOverheadView, responses=COMMON_RESPONSES, tags=["evidence"])
    def isolation() -> IsolationOverheadView:
        """This node's measured isolation (host-kernel exposure) and steady-state overhead per runtime,
        with the verdicts on the claimed orders (the page's isolation/overhead view). Nothing stored:
        ``available`` is false and ``reason`` says why."""
        result = use.isolation_overhead(store)
        return result.model_copy(update={"reason": redact(result.reason)}) if result.reason else result

    @api.get("/api/compare", response_model=Comparison, responses=COMMON_RESPONSES, tags=["evidence"])
    def comparison() -> Comparison:
        """Claimed and measured start time and memory per runtime (the page's charts)."""
        result = use.claims_vs_measurements(store)
        return result.model_copy(update={"reason": redact(result.reason)}) if result.reason else result

    @api.get("/api/fleet", response_model=use.FleetReport, responses=COMMON_RESPONSES, tags=["evidence"])
    def fleet(
        stale_after: Annotated[str, Query(max_length=20, description=(
            "A node whose newest run is older is stale and left out of the medians (e.g. 24h, 90m, 7d)"))] = "24h",
    ) -> Any:
        """Per node pool and per node: usable runtimes, figures (median across nodes, spread), stale
        nodes, nodes unlike their pool, runtimes a pool cannot run, and the claims checked per pool
        (``rtadvisor fleet --json``; the store's host path is reduced to its file name, as in errors)."""
        report = use.fleet_report(store, stale_after)
        return report.model_copy(update={"store": redact(report.store)})

    # ------------------------------------------------------------------ API: deploy

    @api.post("/api/generate", response_model=GeneratedBundle, tags=["deploy"],
              responses={**COMMON_RESPONSES, **BODY_RESPONSES,
                         200: {"content": {"application/zip": {}},
                               "description": "The files (JSON), or a zip with ?format=zip"}},
              openapi_extra=_json_body("GenerateBody", "Exactly one of `decision` (as `rtadvisor recommend "
                                       "--json` prints it) or `profile`."))
    async def generate(
        request: Request,
        format: Annotated[Literal["json", "zip"], Query(description="json (default) or zip")] = "json",
    ) -> Response:
        """The deployment artifacts of a decision (or of the decision for a profile): the files
        ``rtadvisor generate DECISION -o DIR`` writes."""
        data = await _read_json(request)
        if not isinstance(data, dict):
            raise InputError(f"request body: expected a JSON object with 'decision' or 'profile', got "
                             f"{type(data).__name__}", field="body")
        unknown = [k for k in data if k not in ("decision", "profile")]
        if unknown:
            raise InputError(f"request body: unknown field '{unknown[0]}'; allowed: decision, profile", field=unknown[0])
        given = [k for k in ("decision", "profile") if data.get(k) is not None]
        if len(given) != 1:
            field = "profile" if len(given) == 2 else "decision"
            raise InputError(f"{field}: give exactly one of 'decision' or 'profile'", field=field)

        def run() -> GeneratedBundle:
            if given[0] == "decision":
                decision = use.parse_decision(data["decision"])
            else:
                decision = use.recommend(use.parse_workload(data["profile"], source="profile"))
            return use.generate(decision, db=store)

        bundle = await run_in_threadpool(run)
        if format == "zip":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in bundle.files:
                    zf.writestr(f"rtadvisor-{_safe(bundle.runtime)}/{f.path}", f.content)
            return Response(buf.getvalue(), media_type="application/zip", headers={
                "Content-Disposition": f'attachment; filename="rtadvisor-{_safe(bundle.runtime)}.zip"'})
        return StrictJSONResponse(bundle.model_dump(mode="json"))

    @api.get("/api/doctor", response_model=DoctorReport | SymptomReport, responses=COMMON_RESPONSES, tags=["deploy"])
    def doctor(
        symptom: Annotated[str | None, Query(max_length=500, description="Explain a symptom instead, e.g. 'exec format error'")] = None,
    ) -> DoctorReport | SymptomReport:
        """This node's doctor report (``rtadvisor doctor --json``), or with ``symptom`` its likely
        causes and the findings of this node that may explain it (``doctor --symptom TEXT --json``)."""
        if symptom is not None and symptom.strip():
            return use.diagnose(symptom)
        return use.doctor()

    @api.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False,
                   response_model=ErrorResponse)
    def unknown_api(rest: str) -> JSONResponse:
        return StrictJSONResponse(error_body(f"no API endpoint /api/{rest[:100]}; see /openapi.json"), status_code=404)

    # outermost first: the Host check refuses before the body is read
    api.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    api.add_middleware(HostCheck, allowed=settings.allowed_hosts)
    return api


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60] or "artifacts"
