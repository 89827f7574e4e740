package dev.lattice.agent.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sysctls as files under a root: what /proc/sys holds, read and set as {@code sysctl} would, without a process. */
class SysctlsTest {
    @TempDir
    Path root;

    @Test
    void aKeyIsReadStrippedAndAMissingOneIsNull() throws IOException {
        Files.createDirectories(root.resolve("net/ipv6/conf/eth0.5"));
        Files.writeString(root.resolve("net/ipv6/conf/eth0.5/disable_ipv6"), "0\n");
        Sysctls s = Sysctls.under(root);
        assertThat(s.get("net/ipv6/conf/eth0.5/disable_ipv6")).as("an interface name with a dot").isEqualTo("0");
        assertThat(s.get("net/ipv6/conf/lt0/disable_ipv6")).isNull();
    }

    @Test
    void settingWritesTheValueButNeverMakesAKey() throws IOException {
        Files.createDirectories(root.resolve("net/ipv4/conf/all"));
        Files.writeString(root.resolve("net/ipv4/conf/all/src_valid_mark"), "0\n");
        Sysctls s = Sysctls.under(root);
        s.set("net/ipv4/conf/all/src_valid_mark", "1");
        assertThat(s.get("net/ipv4/conf/all/src_valid_mark")).isEqualTo("1");
        assertThatThrownBy(() -> s.set("net/ipv4/conf/all/no_such_key", "1")).isInstanceOf(NoSuchFileException.class);
        assertThat(root.resolve("net/ipv4/conf/all/no_such_key")).doesNotExist();
    }

    @Test
    void pathsOutsideTheRootAreRefused() {
        Sysctls s = Sysctls.under(root);
        assertThatThrownBy(() -> s.get("/etc/shadow")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.get("net/../../etc/shadow")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.set("", "1")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theHostsAreThoseInProcSys() throws IOException {
        assertThat(Sysctls.PROC_SYS.get("kernel/ostype")).isEqualTo("Linux");
    }
}
