"""The loop commands find the running service wherever `mlwb serve` put it, and say where they looked when nothing answers."""
import pytest

from conftest import ADMIN_TOKEN

pytestmark = pytest.mark.slow


def test_commands_find_a_service_on_another_port_and_name_where_they_looked(served, server_factory, monkeypatch):
    monkeypatch.setenv('MLWB_ADMIN_TOKEN', ADMIN_TOKEN)
    for var in ('MLWB_SERVE_HOST', 'MLWB_SERVE_PORT'): monkeypatch.delenv(var, raising=False)
    server = server_factory(served)  # `mlwb serve --port <a free one>`, not params.yaml's 8000
    assert served.params['serve'].get('port', 8000) != server.port
    out = served.run('registry', 'promote', '1', '--reload').stdout  # no --url: found through .mlwb/serving.json
    assert 'service now serves delay/1' in out, out
    server.stop()  # uvicorn re-raises SIGTERM after its shutdown: the file may stay, but its process is gone
    from mlworkbench.config.settings import running_service
    assert running_service(served.root) is None
    out = served.run('registry', 'promote', '1', '--reload').stdout  # promoted; the reload says why it did not happen
    assert 'no service answers at http://127.0.0.1:8000' in out and 'from params.yaml serve.host/port' in out, out
    assert '--url URL or MLWB_SERVE_PORT=PORT' in out, out
