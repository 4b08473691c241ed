-- A small renoise.Document (RUNNER.md item 9): observables, documents
-- created from a model, DocumentNode, XML load_from / save_as.
local host = ...
renoise.Document = {}
