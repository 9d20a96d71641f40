"""The clock's jobs, in one list for both ways of running them: inside `hotline serve` (embedded)
and as arq cron jobs in `hotline worker timers` (production)."""

from __future__ import annotations

from datetime import timedelta

from api.config import Settings
from handoff.surveys import SurveyPolicy, ask_due_surveys
from handoff.timers import Job, close_idle_conversations, purge_sent_outbox


def timer_jobs(settings: Settings) -> list[Job]:
    survey_policy = SurveyPolicy(
        first_delay=timedelta(minutes=settings.survey_delay_minutes),
        retry_every=timedelta(hours=settings.survey_retry_hours),
        max_asks=settings.survey_max_asks,
    )
    return [
        close_idle_conversations(settings.idle_close),
        ask_due_surveys(survey_policy),
        purge_sent_outbox(timedelta(days=settings.outbox_keep_days)),
    ]
