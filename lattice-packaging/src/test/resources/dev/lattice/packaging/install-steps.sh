#!/bin/bash
# Inside the throwaway root (see throwaway-root.sh): install the packages as an admin would and use them.
# Each step's output goes to /results/NAME.out and its exit status to /results/NAME.rc; DebInstallTest
# asserts on them, so a failing step does not stop the rest.
set -u
step() { local name=$1; shift; "$@" >"/results/$name.out" 2>&1; echo $? >"/results/$name.rc"; }

# No Java anywhere: what runs must come from the packages.
rm -rf /usr/lib/jvm /etc/alternatives/java /etc/alternatives/javac /usr/bin/java /usr/bin/javac /usr/local/bin/java
step java-on-path sh -c 'command -v java'

step install dpkg -i /debs/lattice-runtime_*.deb /debs/lattice-control_*.deb /debs/latticed_*.deb /debs/lattice-derper_*.deb
step control-version lattice-control --version
step latticed-version latticed --version
step lattice-help lattice --help
step lattice-version lattice version
step derper-help lattice-derper --help
step runtime-java-modules /usr/lib/lattice/runtime/bin/java --list-modules
step verify-units systemd-analyze verify /usr/lib/systemd/system/lattice-control.service \
  /usr/lib/systemd/system/latticed.service /usr/lib/systemd/system/lattice-derper.service
step user getent passwd lattice
step state-dirs stat -c '%n %U:%G %a' /var/lib/lattice /var/lib/latticed /var/lib/lattice-derper
step config-mode stat -c '%n %U:%G %a' /etc/lattice/config.yaml /etc/default/latticed /etc/default/lattice-derper
step enabled-units ls /etc/systemd/system/multi-user.target.wants

# The control server as lattice-control.service runs it: user lattice, the packaged config, its
# RuntimeDirectory, and a notify socket to hear READY=1 on (received by Python, as systemd would).
install -d -o lattice -g lattice -m 0750 /run/lattice-control
python3 - <<'PY' &
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/run/notify.sock")
os.chmod("/run/notify.sock", 0o666)
open("/run/notify.bound", "w").close()
s.settimeout(90)
try:
    with open("/results/notify.out", "w") as out:
        while True:
            msg = s.recv(4096).decode()
            out.write(msg + "\n---\n")
            out.flush()
            if "READY=1" in msg:
                break
except socket.timeout:
    pass
PY
receiver=$!
for _ in $(seq 100); do [ -e /run/notify.bound ] && break; sleep 0.1; done
setpriv --reuid=lattice --regid=lattice --init-groups -- env NOTIFY_SOCKET=/run/notify.sock \
  lattice-control serve -c /etc/lattice/config.yaml >/results/serve.log 2>&1 &
server=$!
wait "$receiver"
step users-create lattice-control users create alice
step preauthkey lattice-control preauthkeys create --user alice
step users-list lattice-control users list -o json
step health bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080; printf "GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3; cat <&3'
step state-files stat -c '%n %U %a' /var/lib/lattice/db.sqlite /var/lib/lattice/noise_private.key \
  /var/lib/lattice/derp_server_private.key
# systemctl reload: SIGHUP. The packaged config keeps the policy in the database, so nothing is re-read, and the
# server must keep serving (the JVM's default for HUP is to exit).
kill -HUP "$server"
sleep 1
step after-hup lattice-control users list -o json
kill -TERM "$server"
wait "$server"
echo $? >/results/server-exit.rc

# Remove keeps the database and the admin's config; only purge takes them.
step remove dpkg -r lattice-control
step after-remove sh -c 'ls /var/lib/lattice; ls /etc/lattice'
step purge dpkg -P lattice-control
step after-purge sh -c 'ls -d /var/lib/lattice /etc/lattice/config.yaml 2>&1; true'
step purge-agent dpkg -P latticed lattice-derper lattice-runtime
step after-purge-agent sh -c 'ls -d /var/lib/latticed /usr/lib/lattice /etc/default/latticed 2>&1; true'
exit 0
