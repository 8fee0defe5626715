-- A project's release settings as an admin saved them in the browser
-- (upstream, test command, announcement lists, distributors), as JSON; in
-- force at once, in place of the file's [release.projects.NAME] for those.
CREATE TABLE project_release (
    project TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
