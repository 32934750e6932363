DROP INDEX organisations_path_prefix;
