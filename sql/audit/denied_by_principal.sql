-- Denied requests by principal
--
-- Requests refused for lack of a privilege (status 403) on or after :since, one row per
-- principal and action: how many, when last, and the last refusal's message (it names the
-- missing privilege and the GRANT that would allow it). Most denials first.
--
-- :since  the first day to include, a date (2026-11-16)
SELECT
    user_identity.email                              AS principal,
    action_name,
    count(*)                                         AS denials,
    min(event_time)                                  AS first_denied,
    max(event_time)                                  AS last_denied,
    max_by(response.error_message, event_time)       AS last_error_message
FROM system.access.audit
WHERE response.status_code = 403
  AND event_date >= CAST(:since AS DATE)
GROUP BY user_identity.email, action_name
ORDER BY denials DESC, principal, action_name
