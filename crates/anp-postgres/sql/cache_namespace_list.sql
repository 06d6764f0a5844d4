-- cache_namespace_list.
SELECT ns, deploy_sensitive, generation, history FROM cache_namespaces ORDER BY ns
