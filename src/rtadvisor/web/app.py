"""The FastAPI application: the JSON API under ``/api/`` and the page at ``/``.

>>> from rtadvisor.web import create_app
>>> app = create_app()            # default result store
>>> # uvicorn.run(app, host="127.0.0.1", port=8765)   (what ``rtadvisor serve`` does)
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from rtadvisor.errors import ArtifactError, InputError, RtadvisorError
from rtadvisor.model import Decision, Evidence, Workload

from .errors import (
    COMMON_RESPONSES,
    NOT_FOUND_RESPONSE,
    ErrorResponse,
    NotFound,
    ServiceUnavailable,
    field_from_loc,
)
from .schemas import (
    Comparison,
    DecisionTree,
    GenerateRequest,
    GenerateResponse,
    Health,
    Network,
    Preset,
    TroubleshootingHit,
)
from .services import Services

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
INDEX_HTML = WEB_DIR / "templates" / "index.html"

def _error(status: int, message: str, field: str | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, "field": field, **extra}, status_code=status)


def _field_of(err: RtadvisorError) -> str | None:
    """Our errors name the field first (``"memory_mb: must be > 0"``); pick it out for clients."""
    explicit = getattr(err, "field", None)
    if isinstance(explicit, str):
        return explicit
    head = str(err).split(":", 1)[0].strip()
    return head if head and " " not in head and len(head) < 80 else None


def create_app(db: str | None = None) -> FastAPI:
    """Build the app over the result store ``db`` (a path or URL; ``None``: the store's default)."""
    services = Services(db)
    app = FastAPI(
        title="rtadvisor",
        version=services.version,
        # Swagger UI and ReDoc load their scripts from a CDN; the page must work offline, so the
        # API is documented by /openapi.json alone.
        docs_url=None,
        redoc_url=None,
        description=(
            "Choose the isolation runtime for a cloud-native workload, explain the choice, compare "
            "the sources' claims with this node's measurements, and generate deployment artifacts. "
            "Errors are JSON: `{\"error\": one line, \"field\": the field at fault or null}`."
        ),
    )
    app.state.services = services

    # ------------------------------------------------------------------ error handling

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = field_from_loc(tuple(first.get("loc", ())))
        detail = [
            {"loc": [p if isinstance(p, (str, int)) else str(p) for p in e.get("loc", ())],
             "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in errors
        ]
        message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
        return _error(422, message, field, detail=detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own refusals (unreadable body, wrong method, unknown static file) in our format.
        message = str(exc.detail) if exc.detail else f"HTTP {exc.status_code}"
        field = "body" if exc.status_code == 400 else None
        response = _error(exc.status_code, f"body: {message}" if field else message, field)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError) -> JSONResponse:
        field = _field_of(exc)
        return _error(422, str(exc), field,
                      detail=[{"loc": ["body", *(field.split(".") if field else [])], "msg": str(exc),
                               "type": type(exc).__name__}])

    @app.exception_handler(ServiceUnavailable)
    async def _unavailable(request: Request, exc: ServiceUnavailable) -> JSONResponse:
        return _error(503, str(exc))

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return _error(404, str(exc), exc.field)

    @app.exception_handler(RtadvisorError)
    async def _ours(request: Request, exc: RtadvisorError) -> JSONResponse:
        # Anything else of ours (store, runtime, artifact problems) is a state of this node, not a
        # bug: say what it is with 503 rather than hide it behind a 500.
        return _error(503, f"{type(exc).__name__}: {exc}")

    # ------------------------------------------------------------------ page and assets

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        html = INDEX_HTML.read_text(encoding="utf-8").replace("{{version}}", services.version)
        return HTMLResponse(html)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response((STATIC_DIR / "favicon.svg").read_bytes(), media_type="image/svg+xml")

    # ------------------------------------------------------------------ API

    @app.get("/api/health", response_model=Health, tags=["meta"])
    def health() -> Health:
        """Liveness, version, and which areas of rtadvisor this server could load."""
        import importlib.util

        areas = {
            name: importlib.util.find_spec(f"rtadvisor.{module}") is not None
            for name, module in (("kb", "kb"), ("decide", "decide"), ("store", "store"), ("bench", "bench"),
                                 ("k8s", "k8s"), ("doctor", "doctor"))
        }
        return Health(version=services.version, areas=areas)

    @app.post("/api/recommend", response_model=Decision, responses=COMMON_RESPONSES, tags=["decide"])
    def recommend(
        profile: Annotated[Workload, Body(description="The workload profile (the fields of a profile file)")],
        evidence: Annotated[bool, Query(description="Score with this node's measurements instead of claims")] = False,
        rulebook: Annotated[Literal["practice", "sources"], Query(
            description="practice: current upstream practice (default); sources: the source documents' rules")] = "practice",
    ) -> JSONResponse:
        """Recommend a runtime: the same object ``rtadvisor recommend --json [--rulebook R]`` prints."""
        workload = services.parse_profile(profile.model_dump(mode="json", exclude_unset=True))
        decision = services.recommend(workload, use_evidence=evidence, rulebook=rulebook)
        return JSONResponse(decision.model_dump(mode="json"))

    @app.get("/api/presets", response_model=list[Preset], tags=["decide"])
    def presets() -> list[dict[str, Any]]:
        """Profile presets for the sources' scenarios (edge, serverless, AI inference, ...)."""
        return services.presets()

    @app.get("/api/runtimes", response_model=list[dict[str, Any]], responses=COMMON_RESPONSES, tags=["knowledge"])
    def runtimes() -> list[dict[str, Any]]:
        """Every candidate runtime of the knowledge base."""
        return services.runtimes()

    @app.get("/api/runtimes/{runtime_id}", response_model=dict[str, Any],
             responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE}, tags=["knowledge"])
    def runtime(runtime_id: Annotated[str, PathParam(description="A knowledge-base runtime id, e.g. runc")]) -> dict[str, Any]:
        """One runtime of the knowledge base."""
        return services.runtime(runtime_id)

    @app.get("/api/claims", response_model=list[dict[str, Any]], responses=COMMON_RESPONSES, tags=["knowledge"])
    def claims() -> list[dict[str, Any]]:
        """Every numeric claim of the sources, with its source tag."""
        return services.claims()

    @app.get("/api/tree", response_model=DecisionTree, responses=COMMON_RESPONSES, tags=["knowledge"])
    def tree() -> dict[str, Any]:
        """The S-select decision tree as nodes and edges."""
        return services.tree()

    @app.get("/api/scenarios", response_model=dict[str, Any], responses=COMMON_RESPONSES, tags=["knowledge"])
    def scenarios() -> dict[str, Any]:
        """The scenario matrix (S-select) and the case table (S-cases)."""
        return services.scenarios()

    @app.get("/api/routes", response_model=Any, responses=COMMON_RESPONSES, tags=["knowledge"])
    def routes() -> Any:
        """The three Wasm integration routes (S-wasm) and how one is chosen."""
        return services.routes()

    @app.get("/api/network", response_model=Network, responses=COMMON_RESPONSES, tags=["knowledge"])
    def network() -> dict[str, Any]:
        """The relation network (S-network) as a graph."""
        return services.network()

    @app.get("/api/troubleshooting", response_model=list[TroubleshootingHit], responses=COMMON_RESPONSES,
             tags=["knowledge"])
    def troubleshooting(
        symptom: Annotated[str | None, Query(max_length=500, description="Search by symptom, e.g. 'kubectl logs empty'")] = None,
    ) -> list[dict[str, Any]]:
        """The troubleshooting table (S-wasm), optionally searched by symptom."""
        return services.troubleshooting(symptom.strip() if symptom else None)

    @app.get("/api/evidence", response_model=Evidence, responses=COMMON_RESPONSES, tags=["evidence"])
    def evidence() -> JSONResponse:
        """This node's measurements (from the result store) that decisions can use."""
        return JSONResponse(services.evidence().model_dump(mode="json"))

    @app.get("/api/runs", response_model=list[dict[str, Any]], responses=COMMON_RESPONSES, tags=["evidence"])
    def runs() -> list[dict[str, Any]]:
        """Stored bench runs, newest first."""
        return services.runs()

    @app.get("/api/runs/{run_id}", response_model=dict[str, Any],
             responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE}, tags=["evidence"])
    def run(run_id: Annotated[str, PathParam(max_length=200)]) -> dict[str, Any]:
        """One stored bench run with its results."""
        return services.run(run_id)

    @app.get("/api/verdicts", response_model=Any, responses=COMMON_RESPONSES, tags=["evidence"])
    def verdicts() -> Any:
        """Every claim with the closest measurement and a verdict (what ``rtadvisor claims --json`` prints)."""
        return services.verdicts()

    @app.get("/api/compare", response_model=Comparison, responses=COMMON_RESPONSES, tags=["evidence"])
    def comparison() -> Comparison:
        """Claimed and measured start time and memory per runtime (the page's charts)."""
        from rtadvisor.model import Claim

        from .compare import compare

        claim_objs: list[Claim] = []
        for c in services.claims():
            try:
                claim_objs.append(Claim.model_validate(c))
            except ValidationError:
                continue
        try:
            ev: Evidence | None = services.evidence()
            reason = None
        except ServiceUnavailable as exc:
            ev, reason = None, str(exc)
        return Comparison(host=ev.host if ev else {}, measured_available=bool(ev and ev.measurements),
                          reason=reason, points=compare(claim_objs, ev))

    @app.post("/api/generate", response_model=GenerateResponse,
              responses={**COMMON_RESPONSES, 200: {"content": {"application/zip": {}},
                                                   "description": "The files (JSON), or a zip with ?format=zip"}},
              tags=["deploy"])
    def generate(
        request: GenerateRequest,
        format: Annotated[str, Query(pattern="^(json|zip)$", description="json (default) or zip")] = "json",
    ) -> Response:
        """Generate the deployment artifacts of a decision (or of the decision for a profile)."""
        if (request.decision is None) == (request.profile is None):
            field = "decision" if request.decision is None else "profile"
            return _error(422, f"{field}: give exactly one of 'decision' or 'profile'", field,
                          detail=[{"loc": ["body", field], "msg": "give exactly one of 'decision' or 'profile'",
                                   "type": "value_error"}])
        if request.decision is not None:
            decision = request.decision
        else:
            assert request.profile is not None
            workload = services.parse_profile(request.profile.model_dump(mode="json", exclude_unset=True))
            decision = services.recommend(workload)
        try:
            files = services.generate(decision)
        except (ArtifactError, InputError) as exc:
            # the decision given cannot be deployed as is (e.g. a runtime with no known handler)
            return _error(422, f"decision: {exc}", "decision",
                          detail=[{"loc": ["body", "decision"], "msg": str(exc), "type": "ArtifactError"}])
        if format == "zip":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in files:
                    zf.writestr(f"rtadvisor-{decision.runtime}/{f['path']}", f["content"])
            return Response(buf.getvalue(), media_type="application/zip", headers={
                "Content-Disposition": f'attachment; filename="rtadvisor-{_safe(decision.runtime)}.zip"'})
        body = GenerateResponse(runtime=decision.runtime, route=decision.route, files=files)  # type: ignore[arg-type]
        return JSONResponse(body.model_dump(mode="json"))

    @app.get("/api/doctor", response_model=dict[str, Any], responses=COMMON_RESPONSES, tags=["deploy"])
    def doctor(
        symptom: Annotated[str | None, Query(max_length=500, description="Explain a symptom instead, e.g. 'exec format error'")] = None,
    ) -> dict[str, Any]:
        """The node doctor's findings for this machine (``rtadvisor doctor --json``), or a symptom's diagnoses."""
        return services.doctor(symptom.strip() if symptom and symptom.strip() else None)

    @app.get("/api/{rest:path}", include_in_schema=False, response_model=ErrorResponse)
    def unknown_api(rest: str) -> JSONResponse:
        return _error(404, f"no API endpoint /api/{rest}; see /openapi.json")

    return app


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60] or "artifacts"
