"""The workbench's own machinery: stage runner, warm interpreters and launcher, CLI, init, testing helpers (nbs/06_workbench/)."""
