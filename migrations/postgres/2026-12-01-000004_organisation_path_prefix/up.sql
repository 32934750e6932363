-- A subtree is `path LIKE 'prefix%'` (store::subtree). The unique index on
-- path serves that prefix only under the C collation; this one serves it
-- under any. (SQLite's unique index serves it, its LIKE made case-sensitive
-- per connection.)
CREATE INDEX organisations_path_prefix ON organisations (path text_pattern_ops);
