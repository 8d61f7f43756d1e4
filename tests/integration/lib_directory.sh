# shellcheck shell=bash
# lib_directory.sh - the pair's directory in tests (source after lib.sh; the
# lab part is appliance/lab/lab-directory.sh, doc/directory.md):
#
#     LAB_PAIR=1 LAB_DIRECTORY=1 lab_up     (or LAB_DIRECTORY=1 pair_up)
#     dir_up                                slapd on swa swb n1 n2 n3
#     dir_write swa < LDIF                  a change on switch a, as the root
#     dir_attr n1 DN ATTR                   what n1's replica holds
#
# Hosts: swa swb (providers, read as the root) and n1 n2 n3 (replicas, read
# anonymously, as NSS would).  DIR_BASE is the lab's base DN.

DIR_BASE="dc=tandem,dc=test"

# require_directory: slapd and the LDAP tools.
require_directory() {
	require_root
	[ -x "$TANDEM_BUILD/tandem-failover" ] || skip_all "no $TANDEM_BUILD/tandem-failover (run make)"
	require_cmd slapd ldapadd ldapmodify ldapsearch jq
}

# dir_up: every slapd of the lab and the first entries; ends the test if
# that fails.
dir_up() {
	local out
	if out=$(lab dir-up 2>&1); then
		ok "slapd on swa and swb (mirror mode) and a replica on every node: $out"
	else
		fail "the directory comes up" "$out" \
			"$(tail -n 5 "$LAB_DIR"/sw-a/slapd.log "$LAB_DIR"/n1/slapd.log)"
		finish
	fi
}

# dir_nss_lab_up: the pair lab with NFS and the directory (LAB_NFS=1
# LAB_DIRECTORY=1), slapd everywhere (dir_up) and nslcd on every node
# (lab.sh nss-up), for tandem-nasd with NASD_NSS=1; ends the test if that fails.
dir_nss_lab_up() {
	local out
	export LAB_NFS=1
	LAB_DIRECTORY=1 pair_lab_up
	dir_up
	if out=$(lab nss-up 2>&1); then ok "$out"; else fail "nslcd on every node" "$out"; finish; fi
}

# dir_host_dir HOST: where HOST's slapd keeps its files.
dir_host_dir() { case "$1" in swa | swb) echo "$LAB_DIR/sw-${1#sw}" ;; *) echo "$LAB_DIR/$1" ;; esac; }

# dir_ldapi HOST: the ldapi:// URL of HOST's slapd (valid everywhere).
dir_ldapi() { echo "ldapi://$(printf '%s' "$(dir_host_dir "$1")/ldap-run/ldapi" | jq -sRr @uri)"; }

# dir_write HOST: apply the LDIF on stdin (changetype records) on switch
# HOST as the directory's root; its output goes to TEST_TMP/dir-write.log.
dir_write() {
	ldapmodify -x -H "$(dir_ldapi "$1")" -D "cn=admin,$DIR_BASE" \
		-y "$LAB_DIR/ldap-root.pw" >>"$TEST_TMP/dir-write.log" 2>&1
}

# dir_attr HOST DN ATTR: ATTR's value(s) of DN as HOST's slapd holds it.
dir_attr() {
	local auth=()
	case "$1" in swa | swb) auth=(-D "cn=admin,$DIR_BASE" -y "$LAB_DIR/ldap-root.pw") ;; esac
	ldapsearch -x -LLL -o ldif-wrap=no -H "$(dir_ldapi "$1")" "${auth[@]}" \
		-b "$2" -s base "$3" 2>/dev/null | sed -n "s/^$3: //p"
}

# dir_has_val HOST DN ATTR VALUE
dir_has_val() { [ "$(dir_attr "$1" "$2" "$3")" = "$4" ]; }

# dir_user_ldif NAME UID [PASSWORD]: an add record of a posixAccount.
dir_user_ldif() {
	printf 'dn: uid=%s,ou=people,%s\nchangetype: add\n' "$1" "$DIR_BASE"
	printf 'objectClass: inetOrgPerson\nobjectClass: posixAccount\n'
	printf 'uid: %s\ncn: %s\nsn: %s\nuidNumber: %s\ngidNumber: %s\nhomeDirectory: /home/%s\n' \
		"$1" "$1" "$1" "$2" "$2" "$1"
	[ -z "${3:-}" ] || printf 'userPassword: %s\n' "$3"
	echo
}

# dir_set_ldif DN ATTR VALUE: a modify record replacing ATTR.
dir_set_ldif() { printf 'dn: %s\nchangetype: modify\nreplace: %s\n%s: %s\n\n' "$1" "$2" "$2" "$3"; }

# dir_reaches DESC MS HOSTS DN ATTR VALUE: every HOST holds ATTR=VALUE on DN
# within MS of the caller's t0 (set before the change): one check, with the
# slowest host's time.
# shellcheck disable=SC2154  # t0 is the caller's
dir_reaches() {
	local desc=$1 ms=$2 hosts=$3 dn=$4 a=$5 v=$6 h worst=0 el bad=""
	for h in $hosts; do
		if wait_ms $((ms + 3000)) dir_has_val "$h" "$dn" "$a" "$v"; then
			el=$(($(now_ms) - t0))
			[ "$el" -gt "$worst" ] && worst=$el
		else
			bad="$bad $h"
		fi
	done
	if [ -n "$bad" ]; then
		fail "$desc" "not on:$bad"
	else
		check_le "$desc (the last after $worst ms)" "$worst" "$ms"
	fi
}
