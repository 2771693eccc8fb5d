"""Generated catalog for bench/catalog.py: every kind, Korean and English text, bulk-inserted with Core."""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from timbel.catalog.models import Component, DesignAsset, Document, Domain, Project, System

DOMAINS = (
    "국민은행 금융", "삼성전자 제조", "LG화학 화학", "현대자동차 제조", "SK텔레콤 통신", "신한은행 금융",
    "우리은행 금융", "하나은행 금융", "카카오뱅크 금융", "네이버 IT", "롯데마트 유통", "포스코 철강",
    "한국전력 에너지", "대한항공 운송", "CJ대한통운 물류", "KT 통신", "농협은행 금융", "기업은행 금융",
    "미래에셋증권 증권", "한화생명 보험",
)  # fmt: skip
KOREAN = (  # noqa: SIM905 - a word list reads better as text
    "인터넷뱅킹 모바일뱅킹 결제 정산 이체 계좌 대출 카드 보험 증권 주문 재고 물류 배송 고객 회원 인증 "
    "로그인 권한 보안 감사 로그 모니터링 배포 장애 알림 통계 리포트 대시보드 검색 추천 상품 가격 할인 쿠폰 "
    "포인트 예약 일정 급여 인사 근태 회계 세금 전표 구매 계약 협력사 품질 생산 설비 공정 센서 데이터 분석 "
    "학습 모델 챗봇 콜봇 상담 음성 문자 메일 푸시 파일 문서 이미지 영상 지도 위치 차량 운행 항공 예매 "
    "좌석 요금 청구 납부 환불 민원 신청 승인 심사 평가 점수 등급 약관 동의 개인정보 암호화 토큰 세션 캐시 "
    "배치 스케줄러 연동 게이트웨이 어댑터 인터페이스 메시지 이벤트 트랜잭션 거래 원장 잔액 한도 환율 외환 "
    "송금 자동이체 적금 예금 펀드 채권 주식 시세 차트 호가 체결 공시 뉴스 차세대 고도화 구축 전환 통합 "
    "표준 공통 관리 처리 조회 등록 변경 삭제 화면 서비스 시스템 서버 모듈 기능 업무 운영 개발 테스트 검증 "
    "설계 요구사항 "
).split()
ENGLISH = (  # noqa: SIM905 - a word list reads better as text
    "payment gateway settlement transfer account loan card "
    "insurance order inventory shipping customer member auth "
    "login permission security audit logging monitoring deploy "
    "incident alert report dashboard search recommend product "
    "price discount coupon reservation payroll accounting "
    "invoice purchase contract quality sensor analytics model "
    "chatbot voice message file image video map vehicle booking "
    "billing refund approval scoring token session cache queue "
    "batch scheduler adapter interface event transaction ledger "
    "balance exchange fund stock chart api service server client "
    "portal admin mobile web backend frontend core legacy "
    "migration kafka redis postgres oracle spring react django "
    "fastapi mydb nosql "
).split()
LANGUAGES = ("Java", "Python", "Go", "TypeScript", "Kotlin", "C#")
FRAMEWORKS = ("Spring Boot", "FastAPI", "Django", "React", "Vue", "Gin", "Express", ".NET")
TAGS = ("모바일", "웹", "브랜드", "아이콘", "다크모드", "접근성", "mobile", "web", "brand", "icon", "figma")
SHARES = {"project": 0.05, "system": 0.10, "component": 0.50, "document": 0.20, "design_asset": 0.15}
BATCH = 2_000


ZIPF_EXPONENT = 1.0
COMPOUNDS = 1_500


class Words:
    """Seeded text with a natural word distribution: a few words are everywhere, most are rare.

    The vocabulary is the base words plus compounds of two of them (결제정산, PaymentGateway);
    word ranks follow Zipf's law (frequency ∝ 1/rank) over a seeded shuffle; 70 % Korean tokens.
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.korean = self._vocabulary(KOREAN, lambda a, b: a + b)
        self.english = self._vocabulary(ENGLISH, lambda a, b: a.capitalize() + b.capitalize())

    def _vocabulary(self, base: list[str], join: Any) -> tuple[list[str], list[float]]:
        words = list(dict.fromkeys([*base, *(join(*self.rng.sample(base, 2)) for _ in range(COMPOUNDS))]))
        self.rng.shuffle(words)
        weights = list(itertools.accumulate(1 / (rank**ZIPF_EXPONENT) for rank in range(1, len(words) + 1)))
        return words, weights

    def word(self) -> str:
        """One vocabulary word."""
        words, weights = self.korean if self.rng.random() < 0.7 else self.english
        return self.rng.choices(words, cum_weights=weights)[0]

    def text(self, low: int, high: int) -> str:
        """Between ``low`` and ``high`` words."""
        return " ".join(self.word() for _ in range(self.rng.randint(low, high)))

    def stamp(self) -> dict[str, datetime]:
        """Creation within two years, last change after it."""
        created = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(minutes=self.rng.randint(0, 2 * 525_600))
        return {
            "created_at": created,
            "updated_at": created + timedelta(minutes=self.rng.randint(0, 200_000)),
        }


def _ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def _owner(owner: dict[str, Any]) -> dict[str, str | None]:
    """A system (it has a slug) or a project owns a document or design asset."""
    is_system = "slug" in owner
    return {"system_id": owner["id"] if is_system else None, "project_id": None if is_system else owner["id"]}


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def generate(engine: Engine, *, entities: int, seed: int) -> dict[str, int]:
    """Insert ``entities`` catalog rows (20 domains, the rest by ``SHARES``); return the count per kind."""
    w = Words(seed)
    rest = entities - len(DOMAINS)
    counts = {kind: int(rest * share) for kind, share in SHARES.items()}
    counts["component"] += rest - sum(counts.values())
    domains = [
        {"id": i, "code": f"d{n:02d}", "name": label.split()[0], "industry": label.split()[1], **w.stamp()}
        | {"description": w.text(8, 16), "priority": "medium"}
        for n, (i, label) in enumerate(zip(_ids(len(DOMAINS)), DOMAINS, strict=True), start=1)
    ]
    domain_ids = [d["id"] for d in domains]
    projects = [
        {"id": i, "domain_id": w.rng.choice(domain_ids), "name": f"{w.text(2, 3)} {n}", "status": "active"}
        | {"description": w.text(10, 25), "requirement_summary": w.text(5, 15), **w.stamp()}
        for n, i in enumerate(_ids(counts["project"]))
    ]
    systems = [
        {
            "id": i,
            "domain_id": w.rng.choice(domain_ids),
            "name": f"{w.text(2, 3)} 시스템",
            "slug": f"sys-{n:06d}",
        }
        | {"description": w.text(12, 25), "stage": w.rng.choice(("development", "staging", "production"))}
        | {
            "languages": w.rng.sample(LANGUAGES, w.rng.randint(1, 3)),
            "frameworks": [w.rng.choice(FRAMEWORKS)],
        }
        | {"datastores": [w.rng.choice(("PostgreSQL", "Oracle", "Redis", "MySQL"))], **w.stamp()}
        for n, i in enumerate(_ids(counts["system"]))
    ]
    components = []
    for n, i in enumerate(_ids(counts["component"])):
        system = w.rng.choice(systems)
        components.append(
            {
                "id": i,
                "domain_id": system["domain_id"],
                "system_id": system["id"],
                "name": f"{w.text(1, 3)} {n}",
            }
            | {"description": w.text(10, 20), "language": w.rng.choice(LANGUAGES), "kind": "library"}
            | {"framework": w.rng.choice(FRAMEWORKS), "path": f"src/{w.word()}/{n}", **w.stamp()}
        )
    documents = []
    for i in _ids(counts["document"]):
        owner = w.rng.choice(systems) if w.rng.random() < 0.7 else w.rng.choice(projects)
        documents.append(
            {"id": i, "domain_id": owner["domain_id"], **_owner(owner), "title": f"{w.text(2, 4)} 문서"}
            | {"content": f"# {w.text(2, 4)}\n\n{w.text(30, 80)}", "format": "markdown", **w.stamp()}
        )
    assets = []
    for i in _ids(counts["design_asset"]):
        owner = w.rng.choice(systems) if w.rng.random() < 0.7 else w.rng.choice(projects)
        assets.append(
            {"id": i, "domain_id": owner["domain_id"], **_owner(owner), "title": f"{w.text(1, 3)} 화면"}
            | {"description": w.text(5, 15), "tags": w.rng.sample(TAGS, w.rng.randint(1, 3)), **w.stamp()}
        )
    with engine.begin() as conn:
        for model, rows in (
            (Domain, domains),
            (Project, projects),
            (System, systems),
            (Component, components),
            (Document, documents),
            (DesignAsset, assets),
        ):
            for batch in _batches(rows):
                conn.execute(insert(model), batch)
    return {"domain": len(domains), **counts}
