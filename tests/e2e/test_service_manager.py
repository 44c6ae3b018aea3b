"""Who runs the host services: systemd where it is PID 1, supervisord otherwise (no services start).

systemd is not PID 1 on these machines, so the choice is tested by pointing the role's two probes
(the directory /run/systemd/system and PID 1's name in /proc/1/comm) at files the test makes; the
systemd branch is followed up to its first systemctl call, which cannot work here.
"""
import json
import os
import subprocess

import pytest

from journey import REPO

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: redwood.maas.host_supervisor
        tasks_from: {entry}
      vars:
        supervisor_program: {{name: maas-demo, command: /bin/sleep 1000, after: [maas-postgres]}}
    - ansible.builtin.copy:
        dest: "{{{{ maas_host_state_dir }}}}/manager.json"
        content: "{{{{ {{'manager': host_service_manager}} | to_json }}}}"
"""


def run_play(tmp_path, entry="manager", **extra):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(entry=entry))
    extra = {"maas_host_state_dir": str(tmp_path / "state"), "maas_host_venv_dir": str(tmp_path / "venvs"),
             "ansible_python_interpreter": "{{ ansible_playbook_python }}", **extra}
    (tmp_path / "vars.json").write_text(json.dumps(extra))
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(play), "-e", "@" + str(tmp_path / "vars.json")],
                          cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    result = tmp_path / "state" / "manager.json"
    return proc, (json.loads(result.read_text())["manager"] if result.exists() else None)


@pytest.mark.parametrize("run_dir, pid1, expected", [
    (True, "systemd", "systemd"),
    (True, "bash", "supervisor"),        # a leftover /run/systemd/system, but PID 1 is something else
    (False, "systemd", "supervisor"),    # systemd is PID 1 of nothing booted (no /run/systemd/system)
])
def test_service_manager_choice(tmp_path, run_dir, pid1, expected):
    (tmp_path / "state").mkdir()
    if run_dir:
        (tmp_path / "run-systemd-system").mkdir()
    (tmp_path / "comm").write_text(pid1 + "\n")
    proc, manager = run_play(tmp_path, host_supervisor_systemd_run_dir=str(tmp_path / "run-systemd-system"),
                             host_supervisor_pid1_comm=str(tmp_path / "comm"))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert manager == expected


def test_this_machine_uses_supervisord(tmp_path):
    (tmp_path / "state").mkdir()
    proc, manager = run_play(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert manager == ("systemd" if os.path.isdir("/run/systemd/system") else "supervisor")
    assert "nothing starts them after a reboot" in " ".join(proc.stdout.split()) or manager == "systemd"


def test_systemd_branch_writes_the_unit_then_asks_systemctl(tmp_path):
    units = tmp_path / "units"
    proc = run_play(tmp_path, entry="program", maas_host_service_manager="systemd",
                    maas_host_systemd_unit_dir=str(units))[0]
    unit = (units / "maas-demo.service").read_text()
    assert "ExecStart=/bin/sleep 1000" in unit and "Restart=on-failure" in unit
    assert "After=network.target maas-postgres.service" in unit and "WantedBy=multi-user.target" in unit
    if not os.path.isdir("/run/systemd/system"):   # here: systemctl cannot talk to a systemd that does not run
        assert proc.returncode != 0 and "Services | run with systemd (enabled at boot) maas-demo" in proc.stdout
        assert not (tmp_path / "state" / "supervisor").exists(), "no supervisord in systemd mode"
