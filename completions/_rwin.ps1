
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'rwin' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'rwin'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'rwin' {
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'How many hosts are worked on at once')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format for plans and summaries')
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'The known_hosts file to verify and record SSH host keys in')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open')
            [CompletionResult]::new('--command-timeout', '--command-timeout', [CompletionResultType]::ParameterName, 'Seconds any single remote command may take before it is abandoned')
            [CompletionResult]::new('--pull-timeout', '--pull-timeout', [CompletionResultType]::ParameterName, 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: the scripts sent to hosts and the number of remote round trips')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: the scripts sent to hosts and the number of remote round trips')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors and the final result')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors and the final result')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when the NO_COLOR environment variable is set)')
            [CompletionResult]::new('--accept-new-host-keys', '--accept-new-host-keys', [CompletionResultType]::ParameterName, 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)')
            [CompletionResult]::new('--allow-reboot', '--allow-reboot', [CompletionResultType]::ParameterName, 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Bring every host to the state cluster.yml describes: routing, subnets, routes, components')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show, per host, every change `up` would make, without changing anything')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check cluster.yml and report every problem with its file:line:column')
            [CompletionResult]::new('remove-host', 'remove-host', [CompletionResultType]::ParameterValue, 'Remove everything rwin made on one host, and the routes to its subnet on all others')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check every host and the cluster for what can go wrong, and say how to fix it')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rwin;up' {
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'How many hosts are worked on at once')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format for plans and summaries')
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'The known_hosts file to verify and record SSH host keys in')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open')
            [CompletionResult]::new('--command-timeout', '--command-timeout', [CompletionResultType]::ParameterName, 'Seconds any single remote command may take before it is abandoned')
            [CompletionResult]::new('--pull-timeout', '--pull-timeout', [CompletionResultType]::ParameterName, 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan and change nothing (same as `rwin plan`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: the scripts sent to hosts and the number of remote round trips')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: the scripts sent to hosts and the number of remote round trips')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors and the final result')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors and the final result')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when the NO_COLOR environment variable is set)')
            [CompletionResult]::new('--accept-new-host-keys', '--accept-new-host-keys', [CompletionResultType]::ParameterName, 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)')
            [CompletionResult]::new('--allow-reboot', '--allow-reboot', [CompletionResultType]::ParameterName, 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rwin;plan' {
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'How many hosts are worked on at once')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format for plans and summaries')
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'The known_hosts file to verify and record SSH host keys in')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open')
            [CompletionResult]::new('--command-timeout', '--command-timeout', [CompletionResultType]::ParameterName, 'Seconds any single remote command may take before it is abandoned')
            [CompletionResult]::new('--pull-timeout', '--pull-timeout', [CompletionResultType]::ParameterName, 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: the scripts sent to hosts and the number of remote round trips')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: the scripts sent to hosts and the number of remote round trips')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors and the final result')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors and the final result')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when the NO_COLOR environment variable is set)')
            [CompletionResult]::new('--accept-new-host-keys', '--accept-new-host-keys', [CompletionResultType]::ParameterName, 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)')
            [CompletionResult]::new('--allow-reboot', '--allow-reboot', [CompletionResultType]::ParameterName, 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rwin;validate' {
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'How many hosts are worked on at once')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format for plans and summaries')
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'The known_hosts file to verify and record SSH host keys in')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open')
            [CompletionResult]::new('--command-timeout', '--command-timeout', [CompletionResultType]::ParameterName, 'Seconds any single remote command may take before it is abandoned')
            [CompletionResult]::new('--pull-timeout', '--pull-timeout', [CompletionResultType]::ParameterName, 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: the scripts sent to hosts and the number of remote round trips')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: the scripts sent to hosts and the number of remote round trips')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors and the final result')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors and the final result')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when the NO_COLOR environment variable is set)')
            [CompletionResult]::new('--accept-new-host-keys', '--accept-new-host-keys', [CompletionResultType]::ParameterName, 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)')
            [CompletionResult]::new('--allow-reboot', '--allow-reboot', [CompletionResultType]::ParameterName, 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rwin;remove-host' {
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'How many hosts are worked on at once')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format for plans and summaries')
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'The known_hosts file to verify and record SSH host keys in')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open')
            [CompletionResult]::new('--command-timeout', '--command-timeout', [CompletionResultType]::ParameterName, 'Seconds any single remote command may take before it is abandoned')
            [CompletionResult]::new('--pull-timeout', '--pull-timeout', [CompletionResultType]::ParameterName, 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Clean the other hosts and the state even if NODE cannot be reached')
            [CompletionResult]::new('--edit-config', '--edit-config', [CompletionResultType]::ParameterName, 'Also take NODE''s entry out of cluster.yml (the rest of the file is kept as it is)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'List what would be removed, and change nothing')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: the scripts sent to hosts and the number of remote round trips')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: the scripts sent to hosts and the number of remote round trips')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors and the final result')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors and the final result')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when the NO_COLOR environment variable is set)')
            [CompletionResult]::new('--accept-new-host-keys', '--accept-new-host-keys', [CompletionResultType]::ParameterName, 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)')
            [CompletionResult]::new('--allow-reboot', '--allow-reboot', [CompletionResultType]::ParameterName, 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rwin;doctor' {
            [CompletionResult]::new('--probe-image', '--probe-image', [CompletionResultType]::ParameterName, 'Image for --probe (needs `sleep` and `ping`); default: the image of the first pod-network component')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'How many hosts are worked on at once')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format for plans and summaries')
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'The known_hosts file to verify and record SSH host keys in')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open')
            [CompletionResult]::new('--command-timeout', '--command-timeout', [CompletionResultType]::ParameterName, 'Seconds any single remote command may take before it is abandoned')
            [CompletionResult]::new('--pull-timeout', '--pull-timeout', [CompletionResultType]::ParameterName, 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day')
            [CompletionResult]::new('--probe', '--probe', [CompletionResultType]::ParameterName, 'Also start a small container on each node and check it reaches one on every other node')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: the scripts sent to hosts and the number of remote round trips')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: the scripts sent to hosts and the number of remote round trips')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors and the final result')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors and the final result')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when the NO_COLOR environment variable is set)')
            [CompletionResult]::new('--accept-new-host-keys', '--accept-new-host-keys', [CompletionResultType]::ParameterName, 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)')
            [CompletionResult]::new('--allow-reboot', '--allow-reboot', [CompletionResultType]::ParameterName, 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rwin;completions' {
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'How many hosts are worked on at once')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format for plans and summaries')
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'The known_hosts file to verify and record SSH host keys in')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open')
            [CompletionResult]::new('--command-timeout', '--command-timeout', [CompletionResultType]::ParameterName, 'Seconds any single remote command may take before it is abandoned')
            [CompletionResult]::new('--pull-timeout', '--pull-timeout', [CompletionResultType]::ParameterName, 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: the scripts sent to hosts and the number of remote round trips')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: the scripts sent to hosts and the number of remote round trips')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors and the final result')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors and the final result')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'No colours (also when the NO_COLOR environment variable is set)')
            [CompletionResult]::new('--accept-new-host-keys', '--accept-new-host-keys', [CompletionResultType]::ParameterName, 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)')
            [CompletionResult]::new('--allow-reboot', '--allow-reboot', [CompletionResultType]::ParameterName, 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rwin;help' {
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Bring every host to the state cluster.yml describes: routing, subnets, routes, components')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show, per host, every change `up` would make, without changing anything')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check cluster.yml and report every problem with its file:line:column')
            [CompletionResult]::new('remove-host', 'remove-host', [CompletionResultType]::ParameterValue, 'Remove everything rwin made on one host, and the routes to its subnet on all others')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check every host and the cluster for what can go wrong, and say how to fix it')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rwin;help;up' {
            break
        }
        'rwin;help;plan' {
            break
        }
        'rwin;help;validate' {
            break
        }
        'rwin;help;remove-host' {
            break
        }
        'rwin;help;doctor' {
            break
        }
        'rwin;help;completions' {
            break
        }
        'rwin;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
