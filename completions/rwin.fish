# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rwin_global_optspecs
    string join \n concurrency= v/verbose q/quiet output= y/yes no-color accept-new-host-keys known-hosts= connect-timeout= command-timeout= pull-timeout= allow-reboot h/help V/version
end

function __fish_rwin_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rwin_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rwin_using_subcommand
    set -l cmd (__fish_rwin_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rwin -n "__fish_rwin_needs_command" -l concurrency -d 'How many hosts are worked on at once' -r
complete -c rwin -n "__fish_rwin_needs_command" -l output -d 'Output format for plans and summaries' -r -f -a "text\t''
json\t''"
complete -c rwin -n "__fish_rwin_needs_command" -l known-hosts -d 'The known_hosts file to verify and record SSH host keys in' -r -F
complete -c rwin -n "__fish_rwin_needs_command" -l connect-timeout -d 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open' -r
complete -c rwin -n "__fish_rwin_needs_command" -l command-timeout -d 'Seconds any single remote command may take before it is abandoned' -r
complete -c rwin -n "__fish_rwin_needs_command" -l pull-timeout -d 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day' -r
complete -c rwin -n "__fish_rwin_needs_command" -s v -l verbose -d 'More detail: the scripts sent to hosts and the number of remote round trips'
complete -c rwin -n "__fish_rwin_needs_command" -s q -l quiet -d 'Only errors and the final result'
complete -c rwin -n "__fish_rwin_needs_command" -s y -l yes -d 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
complete -c rwin -n "__fish_rwin_needs_command" -l no-color -d 'No colours (also when the NO_COLOR environment variable is set)'
complete -c rwin -n "__fish_rwin_needs_command" -l accept-new-host-keys -d 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)'
complete -c rwin -n "__fish_rwin_needs_command" -l allow-reboot -d 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported'
complete -c rwin -n "__fish_rwin_needs_command" -s h -l help -d 'Print help'
complete -c rwin -n "__fish_rwin_needs_command" -s V -l version -d 'Print version'
complete -c rwin -n "__fish_rwin_needs_command" -f -a "up" -d 'Bring every host to the state cluster.yml describes: routing, subnets, routes, components'
complete -c rwin -n "__fish_rwin_needs_command" -f -a "plan" -d 'Show, per host, every change `up` would make, without changing anything'
complete -c rwin -n "__fish_rwin_needs_command" -f -a "validate" -d 'Check cluster.yml and report every problem with its file:line:column'
complete -c rwin -n "__fish_rwin_needs_command" -f -a "remove-host" -d 'Remove everything rwin made on one host, and the routes to its subnet on all others'
complete -c rwin -n "__fish_rwin_needs_command" -f -a "doctor" -d 'Check every host and the cluster for what can go wrong, and say how to fix it'
complete -c rwin -n "__fish_rwin_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c rwin -n "__fish_rwin_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rwin -n "__fish_rwin_using_subcommand up" -l concurrency -d 'How many hosts are worked on at once' -r
complete -c rwin -n "__fish_rwin_using_subcommand up" -l output -d 'Output format for plans and summaries' -r -f -a "text\t''
json\t''"
complete -c rwin -n "__fish_rwin_using_subcommand up" -l known-hosts -d 'The known_hosts file to verify and record SSH host keys in' -r -F
complete -c rwin -n "__fish_rwin_using_subcommand up" -l connect-timeout -d 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open' -r
complete -c rwin -n "__fish_rwin_using_subcommand up" -l command-timeout -d 'Seconds any single remote command may take before it is abandoned' -r
complete -c rwin -n "__fish_rwin_using_subcommand up" -l pull-timeout -d 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day' -r
complete -c rwin -n "__fish_rwin_using_subcommand up" -l dry-run -d 'Show the plan and change nothing (same as `rwin plan`)'
complete -c rwin -n "__fish_rwin_using_subcommand up" -s v -l verbose -d 'More detail: the scripts sent to hosts and the number of remote round trips'
complete -c rwin -n "__fish_rwin_using_subcommand up" -s q -l quiet -d 'Only errors and the final result'
complete -c rwin -n "__fish_rwin_using_subcommand up" -s y -l yes -d 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
complete -c rwin -n "__fish_rwin_using_subcommand up" -l no-color -d 'No colours (also when the NO_COLOR environment variable is set)'
complete -c rwin -n "__fish_rwin_using_subcommand up" -l accept-new-host-keys -d 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)'
complete -c rwin -n "__fish_rwin_using_subcommand up" -l allow-reboot -d 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported'
complete -c rwin -n "__fish_rwin_using_subcommand up" -s h -l help -d 'Print help'
complete -c rwin -n "__fish_rwin_using_subcommand plan" -l concurrency -d 'How many hosts are worked on at once' -r
complete -c rwin -n "__fish_rwin_using_subcommand plan" -l output -d 'Output format for plans and summaries' -r -f -a "text\t''
json\t''"
complete -c rwin -n "__fish_rwin_using_subcommand plan" -l known-hosts -d 'The known_hosts file to verify and record SSH host keys in' -r -F
complete -c rwin -n "__fish_rwin_using_subcommand plan" -l connect-timeout -d 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open' -r
complete -c rwin -n "__fish_rwin_using_subcommand plan" -l command-timeout -d 'Seconds any single remote command may take before it is abandoned' -r
complete -c rwin -n "__fish_rwin_using_subcommand plan" -l pull-timeout -d 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day' -r
complete -c rwin -n "__fish_rwin_using_subcommand plan" -s v -l verbose -d 'More detail: the scripts sent to hosts and the number of remote round trips'
complete -c rwin -n "__fish_rwin_using_subcommand plan" -s q -l quiet -d 'Only errors and the final result'
complete -c rwin -n "__fish_rwin_using_subcommand plan" -s y -l yes -d 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
complete -c rwin -n "__fish_rwin_using_subcommand plan" -l no-color -d 'No colours (also when the NO_COLOR environment variable is set)'
complete -c rwin -n "__fish_rwin_using_subcommand plan" -l accept-new-host-keys -d 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)'
complete -c rwin -n "__fish_rwin_using_subcommand plan" -l allow-reboot -d 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported'
complete -c rwin -n "__fish_rwin_using_subcommand plan" -s h -l help -d 'Print help'
complete -c rwin -n "__fish_rwin_using_subcommand validate" -l concurrency -d 'How many hosts are worked on at once' -r
complete -c rwin -n "__fish_rwin_using_subcommand validate" -l output -d 'Output format for plans and summaries' -r -f -a "text\t''
json\t''"
complete -c rwin -n "__fish_rwin_using_subcommand validate" -l known-hosts -d 'The known_hosts file to verify and record SSH host keys in' -r -F
complete -c rwin -n "__fish_rwin_using_subcommand validate" -l connect-timeout -d 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open' -r
complete -c rwin -n "__fish_rwin_using_subcommand validate" -l command-timeout -d 'Seconds any single remote command may take before it is abandoned' -r
complete -c rwin -n "__fish_rwin_using_subcommand validate" -l pull-timeout -d 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day' -r
complete -c rwin -n "__fish_rwin_using_subcommand validate" -s v -l verbose -d 'More detail: the scripts sent to hosts and the number of remote round trips'
complete -c rwin -n "__fish_rwin_using_subcommand validate" -s q -l quiet -d 'Only errors and the final result'
complete -c rwin -n "__fish_rwin_using_subcommand validate" -s y -l yes -d 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
complete -c rwin -n "__fish_rwin_using_subcommand validate" -l no-color -d 'No colours (also when the NO_COLOR environment variable is set)'
complete -c rwin -n "__fish_rwin_using_subcommand validate" -l accept-new-host-keys -d 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)'
complete -c rwin -n "__fish_rwin_using_subcommand validate" -l allow-reboot -d 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported'
complete -c rwin -n "__fish_rwin_using_subcommand validate" -s h -l help -d 'Print help'
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -l concurrency -d 'How many hosts are worked on at once' -r
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -l output -d 'Output format for plans and summaries' -r -f -a "text\t''
json\t''"
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -l known-hosts -d 'The known_hosts file to verify and record SSH host keys in' -r -F
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -l connect-timeout -d 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open' -r
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -l command-timeout -d 'Seconds any single remote command may take before it is abandoned' -r
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -l pull-timeout -d 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day' -r
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -l force -d 'Clean the other hosts and the state even if NODE cannot be reached'
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -l edit-config -d 'Also take NODE\'s entry out of cluster.yml (the rest of the file is kept as it is)'
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -l dry-run -d 'List what would be removed, and change nothing'
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -s v -l verbose -d 'More detail: the scripts sent to hosts and the number of remote round trips'
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -s q -l quiet -d 'Only errors and the final result'
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -s y -l yes -d 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -l no-color -d 'No colours (also when the NO_COLOR environment variable is set)'
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -l accept-new-host-keys -d 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)'
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -l allow-reboot -d 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported'
complete -c rwin -n "__fish_rwin_using_subcommand remove-host" -s h -l help -d 'Print help'
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -l probe-image -d 'Image for --probe (needs `sleep` and `ping`); default: the image of the first pod-network component' -r
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -l concurrency -d 'How many hosts are worked on at once' -r
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -l output -d 'Output format for plans and summaries' -r -f -a "text\t''
json\t''"
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -l known-hosts -d 'The known_hosts file to verify and record SSH host keys in' -r -F
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -l connect-timeout -d 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open' -r
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -l command-timeout -d 'Seconds any single remote command may take before it is abandoned' -r
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -l pull-timeout -d 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day' -r
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -l probe -d 'Also start a small container on each node and check it reaches one on every other node'
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -s v -l verbose -d 'More detail: the scripts sent to hosts and the number of remote round trips'
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -s q -l quiet -d 'Only errors and the final result'
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -s y -l yes -d 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -l no-color -d 'No colours (also when the NO_COLOR environment variable is set)'
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -l accept-new-host-keys -d 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)'
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -l allow-reboot -d 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported'
complete -c rwin -n "__fish_rwin_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c rwin -n "__fish_rwin_using_subcommand completions" -l concurrency -d 'How many hosts are worked on at once' -r
complete -c rwin -n "__fish_rwin_using_subcommand completions" -l output -d 'Output format for plans and summaries' -r -f -a "text\t''
json\t''"
complete -c rwin -n "__fish_rwin_using_subcommand completions" -l known-hosts -d 'The known_hosts file to verify and record SSH host keys in' -r -F
complete -c rwin -n "__fish_rwin_using_subcommand completions" -l connect-timeout -d 'Seconds to wait for a host to accept a connection and finish the SSH handshake, for each step of the SSH login, and for each channel (command, forward) the host is asked to open' -r
complete -c rwin -n "__fish_rwin_using_subcommand completions" -l command-timeout -d 'Seconds any single remote command may take before it is abandoned' -r
complete -c rwin -n "__fish_rwin_using_subcommand completions" -l pull-timeout -d 'Seconds an image pull on a Windows host reached over WinRM may take: it runs as a command of its own, outside --command-timeout (Windows base images are several GB). At most a day' -r
complete -c rwin -n "__fish_rwin_using_subcommand completions" -s v -l verbose -d 'More detail: the scripts sent to hosts and the number of remote round trips'
complete -c rwin -n "__fish_rwin_using_subcommand completions" -s q -l quiet -d 'Only errors and the final result'
complete -c rwin -n "__fish_rwin_using_subcommand completions" -s y -l yes -d 'Never prompt; take the default answer that is safe (refuse unknown host keys unless --accept-new-host-keys is given)'
complete -c rwin -n "__fish_rwin_using_subcommand completions" -l no-color -d 'No colours (also when the NO_COLOR environment variable is set)'
complete -c rwin -n "__fish_rwin_using_subcommand completions" -l accept-new-host-keys -d 'Trust and record host keys of hosts not yet in known_hosts (a changed key is still refused)'
complete -c rwin -n "__fish_rwin_using_subcommand completions" -l allow-reboot -d 'Restart a Windows host when a change needs a reboot to take effect, wait for it to answer again and carry on. Without it a needed reboot is only reported'
complete -c rwin -n "__fish_rwin_using_subcommand completions" -s h -l help -d 'Print help'
complete -c rwin -n "__fish_rwin_using_subcommand help; and not __fish_seen_subcommand_from up plan validate remove-host doctor completions help" -f -a "up" -d 'Bring every host to the state cluster.yml describes: routing, subnets, routes, components'
complete -c rwin -n "__fish_rwin_using_subcommand help; and not __fish_seen_subcommand_from up plan validate remove-host doctor completions help" -f -a "plan" -d 'Show, per host, every change `up` would make, without changing anything'
complete -c rwin -n "__fish_rwin_using_subcommand help; and not __fish_seen_subcommand_from up plan validate remove-host doctor completions help" -f -a "validate" -d 'Check cluster.yml and report every problem with its file:line:column'
complete -c rwin -n "__fish_rwin_using_subcommand help; and not __fish_seen_subcommand_from up plan validate remove-host doctor completions help" -f -a "remove-host" -d 'Remove everything rwin made on one host, and the routes to its subnet on all others'
complete -c rwin -n "__fish_rwin_using_subcommand help; and not __fish_seen_subcommand_from up plan validate remove-host doctor completions help" -f -a "doctor" -d 'Check every host and the cluster for what can go wrong, and say how to fix it'
complete -c rwin -n "__fish_rwin_using_subcommand help; and not __fish_seen_subcommand_from up plan validate remove-host doctor completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c rwin -n "__fish_rwin_using_subcommand help; and not __fish_seen_subcommand_from up plan validate remove-host doctor completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
