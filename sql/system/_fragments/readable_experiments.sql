-- The experiments the reader may read: those whose securable (type EXPERIMENT, named by the
-- experiment's path) the reader may see, which for an experiment means holding CAN READ,
-- CAN EDIT or CAN MANAGE on it or owning it (the reader or one of their groups), or being a
-- metastore admin. __visible holds exactly those securables, decided by the grant index.
SELECT e.*
FROM meta.experiments e
JOIN meta.securables s ON s.type = 'EXPERIMENT' AND s.full_name = e.name
JOIN __visible v ON v.id = s.id
