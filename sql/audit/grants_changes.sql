-- Grant and revoke history
--
-- Who granted or revoked which privileges on what, to whom, on or after :since, oldest first:
-- every successful GRANT or REVOKE statement (updatePermissions), and every GRANT or REVOKE
-- that a policy file apply ran (applyPolicy, `via` = 'policy'). Refused attempts are in
-- denied_by_principal. `privileges`, `securable` and `principal` are read from the statement
-- text; `command_text` is the statement itself.
--
-- :since  the first day to include, a date (2026-11-16)
WITH changes AS (
    SELECT event_time, user_identity.email AS changed_by, 'sql' AS via, trim(request_params['commandText']) AS command_text
    FROM system.access.audit
    WHERE action_name = 'updatePermissions'
      AND response.status_code = 200
      AND event_date >= CAST(:since AS DATE)
    UNION ALL
    SELECT event_time, user_identity.email, 'policy', trim(statement)
    FROM system.access.audit
    LATERAL VIEW explode(split(response.result, '; ')) AS statement
    WHERE action_name = 'applyPolicy'
      AND response.status_code = 200
      AND event_date >= CAST(:since AS DATE)
)
SELECT
    event_time,
    changed_by,
    upper(regexp_extract(command_text, '(?is)^(GRANT|REVOKE)\\s', 1))                                      AS change,
    upper(regexp_extract(command_text, '(?is)^(?:GRANT|REVOKE)\\s+(.+?)\\s+ON\\s', 1))                     AS privileges,
    regexp_extract(command_text, '(?is)\\sON\\s+(.+?)\\s+(?:TO|FROM)\\s', 1)                               AS securable,
    replace(regexp_extract(command_text, '(?is)\\s(?:TO|FROM)\\s+(.+?)\\s*;?\\s*$', 1), '`', '')         AS principal,
    via,
    command_text
FROM changes
WHERE regexp_like(command_text, '(?is)^(GRANT|REVOKE)\\s')
ORDER BY event_time, command_text
