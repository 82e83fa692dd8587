-- system.access.audit: one row per statement or API call, allowed or denied.
-- Columns follow Databricks' system.access.audit; decision_reasons says which grant (or the lack
-- of one) decided each privilege check.
SELECT
    workspace_id,
    event_id,
    event_time,
    event_date,
    source_ip_address,
    user_agent,
    session_id,
    user_identity,
    service_name,
    action_name,
    request_id,
    request_params,
    response,
    audit_level,
    decision_reasons
FROM meta.audit_log
