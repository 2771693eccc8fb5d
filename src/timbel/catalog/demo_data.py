"""The demo catalog: eight customer domains with projects, systems, components, documents and relations.

Plain data, no randomness, so every `timbel demo load` produces the same catalog. The system marked
``LOCAL_REPO`` gets this project's own git repository as its repo_url when one is found on disk.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from timbel.catalog.demo_types import LOCAL_REPO, DemoComponent, DemoDomain, DemoProject, DemoSystem

__all__ = ["DOMAINS", "LOCAL_REPO", "RELATIONS", "DemoDomain", "DemoSystem"]


def _c(name: str, kind: str, lang: str, fw: str, path: str, desc: str, score: float) -> DemoComponent:
    return DemoComponent(name, kind, lang, fw, path, desc, score)


D = date

DOMAINS: tuple[DemoDomain, ...] = (
    DemoDomain(
        "kb-bank",
        "국민은행",
        "금융",
        "서울",
        "critical",
        "개인·기업 금융 고객사. 인터넷뱅킹과 AI 상담 채널을 운영한다.",
        ("김민준", "디지털금융부 팀장", "minjun.kim@kb.example.com"),
        (
            DemoProject(
                "차세대 인터넷뱅킹 장애 대응",
                "active",
                "이체 지연 장애의 재발 방지와 결제 모듈 안정화",
                D(2026, 9, 1),
                D(2027, 3, 31),
                "이체 처리 지연 3초 이내, 장애 시 자동 롤백, 24시간 모니터링",
                urgent_reason=(
                    "9월 정기 점검 후 이체 지연 장애가 두 차례 발생해 금융감독원 보고 대상이 되었다."
                ),
                urgent_deadline=datetime(2026, 12, 15, 0, 0, tzinfo=UTC),  # 09:00 in Korea
                work_groups=(
                    ("원인 분석", "done", "장애 로그와 트랜잭션 추적으로 병목 구간을 찾는다."),
                    ("결제 모듈 개선", "active", "이체 API의 커넥션 풀과 재시도 정책을 개선한다."),
                    ("모니터링 강화", "planned", "이체 지연 SLO와 알림을 설정한다."),
                ),
                voc=(
                    "# 고객 VoC: 이체 지연\n\n- 급여일 오전 이체가 30초 이상 걸렸다.\n"
                    "- 앱에서 오류 없이 멈춘 것처럼 보였다.\n"
                ),
            ),
            DemoProject(
                "AI 상담 콜봇 도입",
                "draft",
                "콜센터 상담 일부를 음성 콜봇으로 전환",
                D(2027, 1, 1),
                D(2027, 6, 30),
                "STT/TTS 연동, 상담 시나리오 20종, 상담원 연결",
            ),
        ),
        (
            DemoSystem(
                "kb-internet-banking",
                "인터넷뱅킹",
                "production",
                "개인 고객용 인터넷뱅킹 웹과 이체·조회 API",
                ("Java", "TypeScript"),
                ("Spring Boot", "React"),
                ("PostgreSQL", "Redis"),
                (
                    _c(
                        "transfer-api",
                        "api",
                        "Java",
                        "Spring Boot",
                        "api/transfer",
                        "계좌 이체 REST API",
                        82.0,
                    ),
                    _c("account-web", "ui", "TypeScript", "React", "web/account", "계좌 조회 화면", 64.5),
                    _c(
                        "auth-guard",
                        "library",
                        "Java",
                        "Spring Boot",
                        "lib/auth",
                        "공통 인증·권한 필터",
                        91.0,
                    ),
                ),
            ),
            DemoSystem(
                "timbel-ops",
                "운영 자동화 플랫폼 (Timbel)",
                "staging",
                "배포·파이프라인·모니터링을 한곳에서 관리하는 플랫폼. 이 저장소 자체를 분석 대상으로 쓴다.",
                ("Python",),
                ("FastAPI",),
                ("SQLite", "PostgreSQL"),
                (
                    _c(
                        "catalog-api",
                        "api",
                        "Python",
                        "FastAPI",
                        "src/timbel/catalog",
                        "지식자원 카탈로그 API",
                        70.0,
                    ),
                    _c("web-ui", "ui", "Python", "FastAPI", "src/timbel/web", "한국어 우선 웹 화면", 55.0),
                ),
                repo_url=LOCAL_REPO,
                projects=(0, 1),
            ),
        ),
    ),
    DemoDomain(
        "samsung-electronics",
        "삼성전자",
        "제조/IT",
        "경기 수원",
        "critical",
        "반도체·가전 제조 고객사. 공장 설비 데이터를 다룬다.",
        ("이서연", "스마트팩토리그룹 책임", "seoyeon.lee@samsung.example.com"),
        (
            DemoProject(
                "스마트 팩토리 설비 예지보전",
                "active",
                "설비 센서로 고장을 미리 알린다",
                D(2026, 3, 2),
                D(2026, 12, 31),
                "센서 1만 개, 5초 주기 수집, 이상 탐지 알림",
            ),
        ),
        (
            DemoSystem(
                "samsung-mes",
                "반도체 MES",
                "production",
                "웨이퍼 공정 실행 관리 시스템",
                ("Java",),
                ("Spring",),
                ("Oracle",),
                (
                    _c("lot-tracking-api", "api", "Java", "Spring", "mes/lot", "로트 추적 API", 77.0),
                    _c(
                        "equipment-service",
                        "service",
                        "Java",
                        "Spring",
                        "mes/equipment",
                        "설비 상태 수집 서비스",
                        60.0,
                    ),
                ),
            ),
            DemoSystem(
                "samsung-sensor-pipeline",
                "설비 센서 파이프라인",
                "development",
                "설비 센서 데이터를 모아 이상을 탐지한다",
                ("Python", "Go"),
                ("FastAPI",),
                ("Kafka", "TimescaleDB"),
                (
                    _c(
                        "anomaly-detector",
                        "service",
                        "Python",
                        "FastAPI",
                        "detector",
                        "이상 탐지 모델 서빙",
                        48.0,
                    ),
                    _c("sensor-ingest", "data", "Go", "", "ingest", "센서 수집기", 52.0),
                ),
            ),
        ),
    ),
    DemoDomain(
        "lg-chem",
        "LG화학",
        "화학/제조",
        "서울",
        "high",
        "배터리 소재 제조 고객사. 품질 데이터 분석 시스템을 운영한다.",
        ("박지훈", "품질혁신팀 선임", "jihoon.park@lgchem.example.com"),
        (
            DemoProject(
                "배터리 소재 품질 분석",
                "active",
                "소재 품질 검사 결과 분석 자동화",
                D(2026, 5, 1),
                D(2027, 2, 28),
                "검사 장비 12종 연동, 불량 원인 리포트",
            ),
        ),
        (
            DemoSystem(
                "lgchem-quality",
                "품질 분석 포털",
                "production",
                "소재 품질 검사 결과를 모아 불량 원인을 분석한다",
                ("Python", "TypeScript"),
                ("Django", "Vue"),
                ("PostgreSQL",),
                (
                    _c(
                        "quality-report-api",
                        "api",
                        "Python",
                        "Django",
                        "api/reports",
                        "품질 리포트 API",
                        66.0,
                    ),
                    _c(
                        "chart-kit",
                        "ui",
                        "TypeScript",
                        "Vue",
                        "web/charts",
                        "품질 차트 컴포넌트 모음",
                        88.0,
                    ),
                ),
            ),
            DemoSystem(
                "lgchem-lims",
                "실험실 정보관리(LIMS)",
                "staging",
                "시험 의뢰·결과를 관리하는 실험실 정보 시스템",
                ("Java",),
                ("Spring Boot",),
                ("MySQL",),
                (
                    _c(
                        "sample-service",
                        "service",
                        "Java",
                        "Spring Boot",
                        "lims/sample",
                        "시료 접수 서비스",
                        45.0,
                    ),
                ),
            ),
        ),
    ),
    DemoDomain(
        "hyundai-motor",
        "현대자동차",
        "자동차",
        "서울",
        "high",
        "완성차 제조 고객사. 커넥티드카 서비스를 운영한다.",
        ("최도윤", "커넥티드카개발팀 매니저", "doyun.choi@hyundai.example.com"),
        (
            DemoProject(
                "커넥티드카 OTA 고도화",
                "on_hold",
                "차량 소프트웨어 무선 업데이트 안정화",
                D(2026, 2, 1),
                D(2026, 11, 30),
                "분할 배포, 실패 시 자동 복구",
            ),
        ),
        (
            DemoSystem(
                "hyundai-ota",
                "OTA 업데이트 서버",
                "production",
                "차량 소프트웨어 무선 업데이트 배포 서버",
                ("Go", "Kotlin"),
                ("Gin",),
                ("PostgreSQL", "Redis"),
                (
                    _c(
                        "ota-campaign-api",
                        "api",
                        "Go",
                        "Gin",
                        "api/campaign",
                        "업데이트 캠페인 API",
                        73.0,
                    ),
                    _c("rollout-planner", "service", "Go", "Gin", "planner", "단계적 배포 계획기", 58.0),
                ),
            ),
            DemoSystem(
                "hyundai-telematics",
                "차량 관제",
                "development",
                "차량 위치·상태 실시간 관제",
                ("Kotlin",),
                ("Spring Boot",),
                ("Cassandra",),
                (
                    _c(
                        "telemetry-consumer",
                        "data",
                        "Kotlin",
                        "Spring Boot",
                        "consumer",
                        "차량 텔레메트리 수집",
                        50.0,
                    ),
                ),
            ),
        ),
    ),
    DemoDomain(
        "asan-medical",
        "서울아산병원",
        "의료",
        "서울",
        "medium",
        "상급종합병원 고객사. 진료 예약과 의료영상 시스템을 운영한다.",
        ("정하은", "의료정보팀 파트장", "haeun.jung@amc.example.com"),
        (
            DemoProject(
                "모바일 진료 예약 개편",
                "active",
                "모바일 예약·대기 안내 개편",
                D(2026, 6, 1),
                D(2026, 12, 20),
                "예약 변경 3단계 이내, 접근성 AA",
            ),
        ),
        (
            DemoSystem(
                "amc-reservation",
                "진료 예약",
                "production",
                "외래 진료 예약과 대기 순번 안내",
                ("TypeScript", "Java"),
                ("Next.js", "Spring Boot"),
                ("PostgreSQL",),
                (
                    _c(
                        "reservation-api",
                        "api",
                        "Java",
                        "Spring Boot",
                        "api/reservation",
                        "진료 예약 API",
                        79.0,
                    ),
                    _c(
                        "booking-web",
                        "ui",
                        "TypeScript",
                        "Next.js",
                        "web/booking",
                        "모바일 예약 화면",
                        61.0,
                    ),
                ),
            ),
            DemoSystem(
                "amc-pacs-viewer",
                "의료영상 뷰어",
                "staging",
                "의료영상(PACS) 웹 뷰어",
                ("TypeScript",),
                ("React",),
                ("MinIO",),
                (_c("dicom-viewer", "ui", "TypeScript", "React", "viewer", "DICOM 영상 뷰어", 69.0),),
            ),
        ),
    ),
    DemoDomain(
        "kepco",
        "한국전력공사",
        "에너지/공공",
        "전남 나주",
        "high",
        "전력 공기업 고객사. 전력 수요 예측과 설비 점검을 운영한다.",
        ("강예준", "전력ICT처 차장", "yejun.kang@kepco.example.com"),
        (
            DemoProject(
                "전력 수요 예측 고도화",
                "completed",
                "지역별 시간대 전력 수요 예측",
                D(2025, 9, 1),
                D(2026, 6, 30),
                "예측 오차 3% 이내, 일 단위 재학습",
            ),
        ),
        (
            DemoSystem(
                "kepco-demand-forecast",
                "전력 수요 예측",
                "production",
                "지역별 전력 수요를 시간 단위로 예측한다",
                ("Python",),
                ("FastAPI",),
                ("PostgreSQL",),
                (
                    _c(
                        "forecast-api",
                        "api",
                        "Python",
                        "FastAPI",
                        "api/forecast",
                        "수요 예측 조회 API",
                        74.0,
                    ),
                    _c("feature-store", "data", "Python", "", "features", "기상·전력 특성 저장소", 63.0),
                ),
            ),
            DemoSystem(
                "kepco-field-inspection",
                "설비 현장 점검",
                "development",
                "송배전 설비 현장 점검 앱",
                ("Dart",),
                ("Flutter",),
                ("SQLite",),
                (_c("inspection-app", "ui", "Dart", "Flutter", "app", "현장 점검 모바일 앱", 40.0),),
            ),
        ),
    ),
    DemoDomain(
        "coupang",
        "쿠팡",
        "유통/이커머스",
        "서울",
        "medium",
        "이커머스 고객사. 주문·배송 추적 시스템을 운영한다.",
        ("윤서준", "물류플랫폼팀 리드", "seojun.yoon@coupang.example.com"),
        (
            DemoProject(
                "배송 추적 실시간화",
                "active",
                "배송 상태를 실시간으로 고객에게 알린다",
                D(2026, 4, 1),
                D(2026, 10, 31),
                "상태 변경 1초 이내 반영, 알림 톡 연동",
            ),
        ),
        (
            DemoSystem(
                "coupang-order",
                "주문 관리",
                "production",
                "주문 접수부터 결제·취소까지 관리한다",
                ("Java", "TypeScript"),
                ("Spring Boot", "NestJS"),
                ("MySQL", "Redis"),
                (
                    _c("order-api", "api", "Java", "Spring Boot", "api/order", "주문 API", 85.0),
                    _c(
                        "checkout-web",
                        "ui",
                        "TypeScript",
                        "React",
                        "web/checkout",
                        "주문·결제 화면",
                        67.0,
                    ),
                ),
            ),
            DemoSystem(
                "coupang-delivery-tracking",
                "배송 추적",
                "staging",
                "배송 상태를 실시간으로 추적·알림한다",
                ("TypeScript",),
                ("NestJS",),
                ("Kafka", "Redis"),
                (
                    _c(
                        "tracking-service",
                        "service",
                        "TypeScript",
                        "NestJS",
                        "tracking",
                        "배송 상태 이벤트 처리",
                        57.0,
                    ),
                ),
            ),
        ),
    ),
    DemoDomain(
        "korean-air",
        "대한항공",
        "항공/운송",
        "서울",
        "medium",
        "항공사 고객사. 예약·운항 정보 시스템을 운영한다.",
        ("임지우", "IT전략실 과장", "jiwoo.lim@koreanair.example.com"),
        (
            DemoProject(
                "모바일 탑승권 개선",
                "draft",
                "모바일 탑승권과 좌석 변경 개선",
                D(2027, 2, 1),
                D(2027, 8, 31),
                "탑승권 오프라인 표시, 좌석 변경 알림",
            ),
        ),
        (
            DemoSystem(
                "koreanair-booking",
                "항공 예약",
                "production",
                "항공권 예약·발권 시스템",
                ("Java",),
                ("Spring Boot",),
                ("Oracle", "Redis"),
                (
                    _c("booking-api", "api", "Java", "Spring Boot", "api/booking", "항공 예약 API", 80.0),
                    _c(
                        "fare-calculator",
                        "library",
                        "Java",
                        "Spring Boot",
                        "lib/fare",
                        "운임 계산 라이브러리",
                        72.0,
                    ),
                ),
            ),
            DemoSystem(
                "koreanair-flight-ops",
                "운항 정보",
                "development",
                "항공기 운항·지연 정보 제공",
                ("Python",),
                ("Django",),
                ("PostgreSQL",),
                (_c("flight-status-api", "api", "Python", "Django", "api/status", "운항 상태 API", 62.0),),
            ),
        ),
    ),
)

# Relations between demo entries, by system slug or "slug/component".
RELATIONS: tuple[tuple[str, str, str], ...] = (
    ("kb-internet-banking/account-web", "consumes_api", "kb-internet-banking/transfer-api"),
    ("kb-internet-banking/auth-guard", "part_of", "kb-internet-banking"),
    ("timbel-ops/web-ui", "consumes_api", "timbel-ops/catalog-api"),
    ("timbel-ops", "depends_on", "kb-internet-banking"),
    ("samsung-sensor-pipeline", "depends_on", "samsung-mes"),
    ("samsung-mes/equipment-service", "provides_api", "samsung-mes/lot-tracking-api"),
    ("lgchem-quality/chart-kit", "consumes_api", "lgchem-quality/quality-report-api"),
    ("lgchem-lims", "similar_to", "lgchem-quality"),
    ("hyundai-ota/rollout-planner", "provides_api", "hyundai-ota/ota-campaign-api"),
    ("amc-reservation/booking-web", "consumes_api", "amc-reservation/reservation-api"),
    ("kepco-field-inspection", "depends_on", "kepco-demand-forecast"),
    ("coupang-order/checkout-web", "consumes_api", "coupang-order/order-api"),
    ("coupang-delivery-tracking", "depends_on", "coupang-order"),
    ("koreanair-booking/fare-calculator", "part_of", "koreanair-booking/booking-api"),
    ("koreanair-flight-ops", "similar_to", "kepco-demand-forecast"),
)
