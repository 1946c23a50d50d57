"A pytest hook the suite's conftest uses: `--dist loadgroup` keeps each xdist_group on one worker under pytest 9.2."
import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Make `--dist loadgroup` group again: pytest-xdist 3.8 marks a grouped test by setting `item._nodeid` to 'ID@GROUP',
    which pytest 9.2 no longer reads (`Node.nodeid` is `str(item._id)`), so grouped tests ran on every worker and each
    built the session's pipeline run and docs. Set the id pytest reads; a no-op once xdist does it itself."""
    if not getattr(config.option, 'loadgroup', False): return  # set on xdist's workers only
    from _pytest.nodeid import coerce_node_id
    for item in items:
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get('name', 'default')) for m in item.iter_markers('xdist_group')})
        if groups and '@' not in item.nodeid: item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(groups)}")
