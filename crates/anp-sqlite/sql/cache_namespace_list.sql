-- cache_namespace_list: every namespace, by name.
SELECT ns, deploy_sensitive, generation, history FROM cache_namespaces ORDER BY ns
