#!/usr/bin/env zsh -f
# Print the candidates zsh's completion system offers for a command line, one per line, by
# loading the completion file as a user's zsh would (fpath + compinit) and pressing Tab in an
# interactive zsh on a pseudo-terminal (zsh/zpty). compadd is wrapped to print each match it
# is given (`compadd -A` collects the matches without adding them).
#
#   zsh -f zsh-complete.zsh COMPLETIONS_DIR 'rwin re'
emulate -L zsh
local dir=$1 line=$2
zmodload zsh/zpty || exit 3
local setup=$(mktemp)
trap 'rm -f $setup; zpty -d z 2>/dev/null' EXIT
cat >$setup <<SETUP
PROMPT=''
fpath=(${(q)dir} \$fpath)
autoload -U compinit && compinit -u -D
bindkey '^I' complete-word
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
compadd() {
    if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "\$@"; return; fi
    local -a hits
    builtin compadd -A hits "\$@"
    local h; for h in \$hits; do print -r -- "<match>\$h"; done
}
comppostfuncs=(rwin_done)
rwin_done() { print -r -- '<done>'; exit }
print -r -- '<ready>'
SETUP
zpty z zsh -f -i
zpty -w z "source ${(q)setup}"
local out
zpty -r z out '*<ready>*' || exit 4
zpty -w -n z "$line"$'\t'
local all= chunk
while zpty -r z chunk; do
    all+=$chunk
    [[ $all == *'<done>'* ]] && break
done
print -r -- ${(F)${(M)${(f)all}:#*<match>*}//*<match>/}
