"""Detect JVM services (Spring Boot, Quarkus, Micronaut) from Maven or Gradle builds."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # expat >= 2.4 refuses entity-expansion bombs; no external entities

from timbel.analysis.report import Dependency, DependencyScope, Evidence, PortEvidence
from timbel.analysis.stacks.base import RANK_CONFIG, Detected, PortHit, StackContext, default_hit, find_health

# (marker in a dependency or plugin id, framework, health path or None when not a health dependency)
FRAMEWORKS = (
    ("org.springframework.boot", "Spring Boot"),
    ("io.quarkus", "Quarkus"),
    ("io.micronaut", "Micronaut"),
)
HEALTH = (
    ("spring-boot-starter-actuator", "/actuator/health"),
    ("quarkus-smallrye-health", "/q/health"),
    ("micronaut-management", "/health"),
)
PORT_KEYS = ("server.port", "quarkus.http.port", "micronaut.server.port")
_GRADLE_DEP = re.compile(
    r"^\s*(implementation|api|runtimeOnly|compileOnly|testImplementation)\s*\(?\s*[\"']([^\"':]+):([^\"':]+)(?::([^\"']+))?[\"']",
    re.MULTILINE,
)
_GRADLE_JAVA = re.compile(
    r"(?:JavaLanguageVersion\.of\(\s*|sourceCompatibility\s*=\s*['\"]?(?:JavaVersion\.VERSION_)?)(\d+)"
)
_YAML_LINE = re.compile(r"^(\s*)([\w.\-\[\]]+)\s*:\s*(.*?)\s*$")
_VALUE_PORT = re.compile(r"^[\"']?(?:\$\{[\w.]+:)?(\d{2,5})\}?[\"']?$")


def _text(el: ET.Element | None, path: str, ns: dict[str, str]) -> str | None:
    found = el.find(path, ns) if el is not None else None
    return found.text.strip() if found is not None and found.text else None


def _maven(ctx: StackContext, det: Detected) -> str:
    """Read pom.xml into det; return "ok", "aggregator" (packaging pom) or "error"."""
    text = ctx.read("pom.xml") or ""
    try:
        root = ET.fromstring(text)  # noqa: S314 - see import comment
    except ET.ParseError as exc:
        ctx.problem("pom.xml", f"invalid XML: {exc}")
        return "error"
    ns = {"m": root.tag[1:].split("}")[0]} if root.tag.startswith("{") else {}
    p = "m:" if ns else ""
    props = {
        child.tag.split("}")[-1]: (child.text or "").strip()
        for child in root.find(f"{p}properties", ns) or []
    }

    def resolve(value: str | None) -> str | None:
        return (
            re.sub(r"\$\{([\w.\-]+)\}", lambda m: props.get(m.group(1), m.group(0)), value)
            if value
            else value
        )

    det.name = _text(root, f"{p}artifactId", ns) or det.name
    if _text(root, f"{p}packaging", ns) == "pom":
        return "aggregator"
    det.runtime_version = (
        props.get("java.version") or props.get("maven.compiler.release") or props.get("maven.compiler.source")
    )
    parent = root.find(f"{p}parent", ns)
    if parent is not None and _text(parent, f"{p}groupId", ns):
        det.dependencies.append(
            Dependency(
                name=f"{_text(parent, f'{p}groupId', ns)}:{_text(parent, f'{p}artifactId', ns)}",
                version=_text(parent, f"{p}version", ns),
                scope="build",
            )
        )
    for dep in root.findall(f"{p}dependencies/{p}dependency", ns):
        scope = "test" if _text(dep, f"{p}scope", ns) == "test" else "runtime"
        name = f"{_text(dep, f'{p}groupId', ns)}:{_text(dep, f'{p}artifactId', ns)}"
        det.dependencies.append(
            Dependency(name=name, version=resolve(_text(dep, f"{p}version", ns)), scope=scope)
        )
    for plugin in root.findall(f"{p}build/{p}plugins/{p}plugin", ns):
        name = f"{_text(plugin, f'{p}groupId', ns)}:{_text(plugin, f'{p}artifactId', ns)}"
        det.dependencies.append(
            Dependency(name=name, version=resolve(_text(plugin, f"{p}version", ns)), scope="build")
        )
    mvn = "./mvnw" if ctx.has("mvnw") else "mvn"
    det.build_tool = "maven"
    det.build_command, det.test_command = f"{mvn} -B package -DskipTests", f"{mvn} -B test"
    version = _text(root, f"{p}version", ns)
    det.start_command = f"java -jar target/{det.name}-{resolve(version) or '*'}.jar"
    return "ok"


def _gradle(ctx: StackContext, det: Detected, build_file: str) -> None:
    text = ctx.read(build_file) or ""
    scope_of: dict[str, DependencyScope] = {"testImplementation": "test", "compileOnly": "build"}
    for m in _GRADLE_DEP.finditer(text):
        det.dependencies.append(
            Dependency(
                name=f"{m.group(2)}:{m.group(3)}",
                version=m.group(4),
                scope=scope_of.get(m.group(1), "runtime"),
            )
        )
    for plugin in re.findall(r"id\s*\(?\s*[\"']([\w.\-]+)[\"']", text):
        det.dependencies.append(Dependency(name=plugin, version=None, scope="build"))
    jv = _GRADLE_JAVA.search(text)
    det.runtime_version = jv.group(1) if jv else None
    if build_file.endswith(".kts"):
        det.language = "Kotlin" if "kotlin(" in text or 'id("org.jetbrains.kotlin' in text else det.language
    gw = "./gradlew" if ctx.has("gradlew") else "gradle"
    det.build_tool = "gradle"
    det.build_command, det.test_command = f"{gw} build -x test", f"{gw} test"
    det.start_command = "java -jar build/libs/*.jar"


def _config_ports(ctx: StackContext) -> list[PortHit]:
    """Read server ports from application.properties / application.yml (nested or dotted keys)."""
    hits: list[PortHit] = []
    for rel in ctx.files:
        fname = rel.rsplit("/", 1)[-1]
        if "src/main/resources/" not in rel or not fname.startswith(("application", "bootstrap")):
            continue
        text = ctx.read_repo(rel) or ""
        if fname.endswith(".properties"):
            for no, line in enumerate(text.splitlines(), 1):
                key, sep, value = line.partition("=")
                m = _VALUE_PORT.match(value.strip())
                if sep and key.strip() in PORT_KEYS and m:
                    hits.append(
                        PortHit(
                            RANK_CONFIG,
                            int(m.group(1)),
                            PortEvidence(file=rel, line=no, reason=f"{key.strip()}={value.strip()}"),
                        )
                    )
        elif fname.endswith((".yml", ".yaml")):
            stack: list[tuple[int, str]] = []
            for no, line in enumerate(text.splitlines(), 1):
                m = _YAML_LINE.match(line)
                if not m or line.lstrip().startswith("#"):
                    continue
                indent = len(m.group(1))
                while stack and stack[-1][0] >= indent:
                    stack.pop()
                stack.append((indent, m.group(2)))
                key = ".".join(k for _, k in stack)
                vm = _VALUE_PORT.match(m.group(3))
                if key in PORT_KEYS and vm:
                    hits.append(
                        PortHit(
                            RANK_CONFIG,
                            int(vm.group(1)),
                            PortEvidence(file=rel, line=no, reason=f"{key}: {m.group(3)}"),
                        )
                    )
    return hits


def detect(ctx: StackContext) -> Detected | None:
    """Describe the Maven or Gradle project in this directory as a service or a library."""
    gradle = next((f for f in ("build.gradle.kts", "build.gradle") if ctx.has(f)), None)
    if not ctx.has("pom.xml") and gradle is None:
        return None
    dirname = ctx.root.name if ctx.path == "." else ctx.path.rsplit("/", 1)[-1]
    language = "Kotlin" if any(f.endswith(".kt") for f in ctx.files) else "Java"
    det = Detected(name=dirname, language=language, build_tool=None)
    if ctx.has("pom.xml"):
        det.manifest = ctx.rel("pom.xml")
        if _maven(ctx, det) != "ok":
            return None  # unreadable, or a parent POM that only groups modules
    else:
        assert gradle is not None
        det.manifest = ctx.rel(gradle)
        _gradle(ctx, det, gradle)
    names = [d.name for d in det.dependencies]
    framework = next((fw for marker, fw in FRAMEWORKS if any(n.startswith(marker) for n in names)), None)
    if framework is None:
        det.start_command = det.build_command = det.test_command = None
        return det
    det.framework = framework
    web = any(
        k in n
        for n in names
        for k in ("starter-web", "starter-webflux", "resteasy", "rest", "http-server", "quarkus-vertx-http")
    )
    det.kind = "api" if web or framework != "Spring Boot" else "worker"
    if framework == "Quarkus":
        det.start_command = (
            "java -jar target/quarkus-app/quarkus-run.jar"
            if det.build_tool == "maven"
            else "java -jar build/quarkus-app/quarkus-run.jar"
        )
    for artifact, path in HEALTH:
        if any(n.endswith(":" + artifact) for n in names):
            det.health_path = path
            manifest_text = ctx.read_repo(det.manifest) or ""
            idx = manifest_text.find(artifact)
            line = manifest_text.count("\n", 0, idx) + 1 if idx >= 0 else None
            det.health_evidence = [
                Evidence(file=det.manifest, line=line, reason=f"{artifact} dependency serves {path}")
            ]
    sources = ctx.sources(".java", ".kt")
    if det.health_path is None:
        det.health_path, det.health_evidence = find_health(ctx, sources)
    det.hits = _config_ports(ctx)
    if det.kind == "api":
        det.hits.append(default_hit(ctx, det.manifest.rsplit("/", 1)[-1], 8080, framework))
    return det
