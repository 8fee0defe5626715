-- What the world reads of each disclosed case, rendered by the writer
-- when the case changes (Policy::public), one row per part: the
-- advisories page's row, the Atom entry, the OSV record and its index
-- entry, the CSAF index and changes lines and the ROLIE entry. The public
-- lists read these rows in order; none folds a case. Only what is public
-- is here.
CREATE TABLE public_parts (
    part TEXT NOT NULL,
    case_id TEXT NOT NULL,
    -- Nanoseconds since the epoch: when the case was published and when
    -- its public advisory last changed.
    published BIGINT NOT NULL,
    modified BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (part, case_id)
);
CREATE INDEX public_parts_published ON public_parts (part, published, case_id);
CREATE INDEX public_parts_modified ON public_parts (part, modified, case_id);
CREATE INDEX public_parts_case ON public_parts (case_id);

-- The published cases get theirs once, with the read model computed again.
DELETE FROM read_model;
