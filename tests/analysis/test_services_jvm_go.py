"""JVM and Go service detection: Spring Boot, Quarkus, Micronaut, gin, echo, net/http, gRPC."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from tests.analysis.service_fixtures import evidence_lines, make_repo, one_service
from timbel.analysis.services import detect_services

POM = """\
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>3.3.0</version>
  </parent>
  <artifactId>billing</artifactId>
  <version>0.1.0</version>
  <properties>
    <java.version>17</java.version>
    <pg.version>42.7.3</pg.version>
  </properties>
  <dependencies>
    <dependency>
      <groupId>org.springframework.boot</groupId>
      <artifactId>spring-boot-starter-web</artifactId>
    </dependency>
    <dependency>
      <groupId>org.springframework.boot</groupId>
      <artifactId>spring-boot-starter-actuator</artifactId>
    </dependency>
    <dependency>
      <groupId>org.postgresql</groupId>
      <artifactId>postgresql</artifactId>
      <version>${pg.version}</version>
    </dependency>
  </dependencies>
</project>
"""


class TestJvm:
    def test_spring_boot_maven_yaml_port_and_actuator(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "pom.xml": POM,
                "mvnw": "#!/bin/sh\n",
                "src/main/resources/application.yml": "spring:\n  application:\n    name: billing\nserver:\n"
                "  port: ${PORT:8081}\n",
                "src/main/java/com/acme/App.java": "class App {}\n",
            },
        )
        svc = one_service(root)
        assert (svc.name, svc.framework, svc.kind, svc.build_tool, svc.runtime_version) == (
            "billing",
            "Spring Boot",
            "api",
            "maven",
            "17",
        )
        assert svc.port == 8081 and evidence_lines(svc) == [("src/main/resources/application.yml", 5)]
        assert svc.health_path == "/actuator/health" and svc.health_evidence[0].line == 22
        assert svc.start_command == "java -jar target/billing-0.1.0.jar"
        assert svc.build_command == "./mvnw -B package -DskipTests"
        deps = {d.name: d.version for d in svc.dependencies}
        assert deps["org.postgresql:postgresql"] == "42.7.3"
        assert [d.name for d in svc.datastores] == ["postgresql"]

    def test_quarkus_gradle_kts_properties_port_and_health(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "build.gradle.kts": dedent("""\
                plugins {
                    java
                    id("io.quarkus")
                }
                java { toolchain { languageVersion.set(JavaLanguageVersion.of(21)) } }
                dependencies {
                    implementation("io.quarkus:quarkus-rest:3.10.0")
                    implementation("io.quarkus:quarkus-smallrye-health")
                    testImplementation("io.quarkus:quarkus-junit5")
                }
            """),
                "gradlew": "#!/bin/sh\n",
                "src/main/resources/application.properties": "# http\nquarkus.http.port=9090\n",
            },
        )
        svc = one_service(root)
        assert (svc.framework, svc.build_tool, svc.runtime_version, svc.health_path) == (
            "Quarkus",
            "gradle",
            "21",
            "/q/health",
        )
        assert svc.port == 9090 and evidence_lines(svc) == [("src/main/resources/application.properties", 2)]
        assert svc.test_command == "./gradlew test"

    def test_micronaut_default_port_says_default(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "build.gradle": "plugins {\n  id 'io.micronaut.application' version '4.3.0'\n}\n"
                "dependencies {\n  implementation 'io.micronaut:micronaut-http-server-netty'\n}\n",
            },
        )
        svc = one_service(root)
        assert (svc.framework, svc.port) == ("Micronaut", 8080)
        assert svc.port_evidence[0].reason == "Micronaut default port 8080 (no explicit port found)"

    def test_plain_maven_module_is_a_library(self, tmp_path: Path) -> None:
        pom = "<project><artifactId>core</artifactId><dependencies/></project>"
        services, libraries = detect_services(make_repo(tmp_path, {"pom.xml": pom}))
        assert services == [] and [(lib.name, lib.build_tool) for lib in libraries] == [("core", "maven")]


GO_MOD = (
    "module github.com/acme/{name}\n\ngo 1.22\n\nrequire (\n\t{deps}\n"
    "\tgolang.org/x/sys v0.20.0 // indirect\n)\n"
)


class TestGo:
    def test_gin_run_call_and_health(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "go.mod": GO_MOD.format(name="shop", deps="github.com/gin-gonic/gin v1.10.0"),
                "main.go": 'package main\n\nfunc main() {\n\tr := gin.Default()\n\tr.GET("/healthz", ok)\n'
                '\tr.Run(":9000")\n}\n',
            },
        )
        svc = one_service(root)
        assert (svc.framework, svc.kind, svc.build_tool, svc.runtime_version) == ("gin", "api", "go", "1.22")
        assert svc.port == 9000 and evidence_lines(svc) == [("main.go", 6)]
        assert svc.health_path == "/healthz"
        assert [d.name for d in svc.dependencies] == ["github.com/gin-gonic/gin"]

    def test_net_http_env_default_in_cmd_package(self, tmp_path: Path) -> None:
        main = dedent("""\
            package main

            import ("net/http"; "os")

            func main() {
            \tport := os.Getenv("PORT")
            \tif port == "" {
            \t\tport = "8081"
            \t}
            \thttp.ListenAndServe(":"+port, nil)
            }
        """)
        root = make_repo(
            tmp_path,
            {
                "go.mod": "module example.com/api\n\ngo 1.21\n",
                "cmd/api/main.go": main,
                "internal/x/x.go": "package x\n",
            },
        )
        svc = one_service(root)
        assert (svc.framework, svc.port) == ("net/http", 8081)
        assert evidence_lines(svc) == [("cmd/api/main.go", 8)]
        assert svc.build_command == "go build -o bin/api ./cmd/api"

    def test_echo_start_call(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "go.mod": GO_MOD.format(name="echoer", deps="github.com/labstack/echo/v4 v4.12.0"),
                "server.go": "package main\n\nfunc main() {\n\te := echo.New()\n"
                '\te.Logger.Fatal(e.Start(":1323"))\n}\n',
            },
        )
        svc = one_service(root)
        assert (svc.framework, svc.port) == ("echo", 1323) and evidence_lines(svc) == [("server.go", 5)]

    def test_module_without_main_package_is_a_library(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path, {"go.mod": "module example.com/lib\n\ngo 1.22\n", "lib.go": "package lib\n"}
        )
        services, libraries = detect_services(root)
        assert services == [] and [(lib.name, lib.language) for lib in libraries] == [("lib", "Go")]


class TestGrpc:
    def test_go_grpc_server_is_a_grpc_service_without_a_guessed_port(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "go.mod": GO_MOD.format(name="rpc", deps="google.golang.org/grpc v1.64.0"),
                "main.go": "package main\n\nfunc main() { grpc.NewServer() }\n",
            },
        )
        svc = one_service(root)
        assert (svc.kind, svc.framework, svc.port, svc.port_evidence) == ("grpc", "gRPC", None, [])
