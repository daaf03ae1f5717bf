
use builtin;
use str;

set edit:completion:arg-completer[rwin] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'rwin'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'rwin'= {
            cand --concurrency 'How many hosts are worked on at once'
            cand --output 'Output format for plans and summaries'
            cand --known-hosts 'The known_hosts file to verify and record SSH host keys in'
            cand --connect-timeout 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open'
            cand --command-timeout 'Seconds any single remote command may take before it is abandoned'
            cand --pull-timeout 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day'
            cand -v 'More detail: the scripts sent to hosts and the number of remote round trips'
            cand --verbose 'More detail: the scripts sent to hosts and the number of remote round trips'
            cand -q 'Only errors and the final result'
            cand --quiet 'Only errors and the final result'
            cand -y 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
            cand --yes 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
            cand --no-color 'No colours (also when the NO_COLOR environment variable is set)'
            cand --accept-new-host-keys 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)'
            cand --allow-reboot 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand up 'Bring every host to the state cluster.yml describes: routing, subnets, routes, components'
            cand plan 'Show, per host, every change `up` would make, without changing anything'
            cand validate 'Check cluster.yml and report every problem with its file:line:column'
            cand remove-host 'Remove everything rwin made on one host, and the routes to its subnet on all others'
            cand doctor 'Check every host and the cluster for what can go wrong, and say how to fix it'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rwin;up'= {
            cand --concurrency 'How many hosts are worked on at once'
            cand --output 'Output format for plans and summaries'
            cand --known-hosts 'The known_hosts file to verify and record SSH host keys in'
            cand --connect-timeout 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open'
            cand --command-timeout 'Seconds any single remote command may take before it is abandoned'
            cand --pull-timeout 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day'
            cand --dry-run 'Show the plan and change nothing (same as `rwin plan`)'
            cand -v 'More detail: the scripts sent to hosts and the number of remote round trips'
            cand --verbose 'More detail: the scripts sent to hosts and the number of remote round trips'
            cand -q 'Only errors and the final result'
            cand --quiet 'Only errors and the final result'
            cand -y 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
            cand --yes 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
            cand --no-color 'No colours (also when the NO_COLOR environment variable is set)'
            cand --accept-new-host-keys 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)'
            cand --allow-reboot 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rwin;plan'= {
            cand --concurrency 'How many hosts are worked on at once'
            cand --output 'Output format for plans and summaries'
            cand --known-hosts 'The known_hosts file to verify and record SSH host keys in'
            cand --connect-timeout 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open'
            cand --command-timeout 'Seconds any single remote command may take before it is abandoned'
            cand --pull-timeout 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day'
            cand -v 'More detail: the scripts sent to hosts and the number of remote round trips'
            cand --verbose 'More detail: the scripts sent to hosts and the number of remote round trips'
            cand -q 'Only errors and the final result'
            cand --quiet 'Only errors and the final result'
            cand -y 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
            cand --yes 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
            cand --no-color 'No colours (also when the NO_COLOR environment variable is set)'
            cand --accept-new-host-keys 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)'
            cand --allow-reboot 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rwin;validate'= {
            cand --concurrency 'How many hosts are worked on at once'
            cand --output 'Output format for plans and summaries'
            cand --known-hosts 'The known_hosts file to verify and record SSH host keys in'
            cand --connect-timeout 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open'
            cand --command-timeout 'Seconds any single remote command may take before it is abandoned'
            cand --pull-timeout 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day'
            cand -v 'More detail: the scripts sent to hosts and the number of remote round trips'
            cand --verbose 'More detail: the scripts sent to hosts and the number of remote round trips'
            cand -q 'Only errors and the final result'
            cand --quiet 'Only errors and the final result'
            cand -y 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
            cand --yes 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
            cand --no-color 'No colours (also when the NO_COLOR environment variable is set)'
            cand --accept-new-host-keys 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)'
            cand --allow-reboot 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rwin;remove-host'= {
            cand --concurrency 'How many hosts are worked on at once'
            cand --output 'Output format for plans and summaries'
            cand --known-hosts 'The known_hosts file to verify and record SSH host keys in'
            cand --connect-timeout 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open'
            cand --command-timeout 'Seconds any single remote command may take before it is abandoned'
            cand --pull-timeout 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day'
            cand --force 'Clean the other hosts and the state even if NODE cannot be reached'
            cand --edit-config 'Also take NODE''s entry out of cluster.yml (the rest of the file is kept as it is)'
            cand --dry-run 'List what would be removed, and change nothing'
            cand -v 'More detail: the scripts sent to hosts and the number of remote round trips'
            cand --verbose 'More detail: the scripts sent to hosts and the number of remote round trips'
            cand -q 'Only errors and the final result'
            cand --quiet 'Only errors and the final result'
            cand -y 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
            cand --yes 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
            cand --no-color 'No colours (also when the NO_COLOR environment variable is set)'
            cand --accept-new-host-keys 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)'
            cand --allow-reboot 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rwin;doctor'= {
            cand --probe-image 'Image for --probe (needs `sleep` and `ping`); default: the image of the first pod-network component'
            cand --concurrency 'How many hosts are worked on at once'
            cand --output 'Output format for plans and summaries'
            cand --known-hosts 'The known_hosts file to verify and record SSH host keys in'
            cand --connect-timeout 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open'
            cand --command-timeout 'Seconds any single remote command may take before it is abandoned'
            cand --pull-timeout 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day'
            cand --probe 'Also start a small container on each node and check it reaches one on every other node'
            cand -v 'More detail: the scripts sent to hosts and the number of remote round trips'
            cand --verbose 'More detail: the scripts sent to hosts and the number of remote round trips'
            cand -q 'Only errors and the final result'
            cand --quiet 'Only errors and the final result'
            cand -y 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
            cand --yes 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
            cand --no-color 'No colours (also when the NO_COLOR environment variable is set)'
            cand --accept-new-host-keys 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)'
            cand --allow-reboot 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rwin;completions'= {
            cand --concurrency 'How many hosts are worked on at once'
            cand --output 'Output format for plans and summaries'
            cand --known-hosts 'The known_hosts file to verify and record SSH host keys in'
            cand --connect-timeout 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open'
            cand --command-timeout 'Seconds any single remote command may take before it is abandoned'
            cand --pull-timeout 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day'
            cand -v 'More detail: the scripts sent to hosts and the number of remote round trips'
            cand --verbose 'More detail: the scripts sent to hosts and the number of remote round trips'
            cand -q 'Only errors and the final result'
            cand --quiet 'Only errors and the final result'
            cand -y 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
            cand --yes 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
            cand --no-color 'No colours (also when the NO_COLOR environment variable is set)'
            cand --accept-new-host-keys 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)'
            cand --allow-reboot 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rwin;help'= {
            cand up 'Bring every host to the state cluster.yml describes: routing, subnets, routes, components'
            cand plan 'Show, per host, every change `up` would make, without changing anything'
            cand validate 'Check cluster.yml and report every problem with its file:line:column'
            cand remove-host 'Remove everything rwin made on one host, and the routes to its subnet on all others'
            cand doctor 'Check every host and the cluster for what can go wrong, and say how to fix it'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rwin;help;up'= {
        }
        &'rwin;help;plan'= {
        }
        &'rwin;help;validate'= {
        }
        &'rwin;help;remove-host'= {
        }
        &'rwin;help;doctor'= {
        }
        &'rwin;help;completions'= {
        }
        &'rwin;help;help'= {
        }
    ]
    $completions[$command]
}
