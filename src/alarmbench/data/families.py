"""Fine class label -> family maps (kept free of heavy imports: the registry needs them)."""

# Attack name -> family, as the R2-AD2 code maps them.
KDD_FAMILIES = {"normal": "normal"} | {
    name: family
    for family, names in {
        "DoS": "back land neptune pod smurf teardrop mailbomb apache2 processtable udpstorm",
        "Probe": "ipsweep nmap portsweep satan mscan saint",
        "R2L": "ftp_write guess_passwd imap multihop phf spy warezclient warezmaster sendmail named "
        "snmpgetattack snmpguess xlock xsnoop worm",
        "U2R": "buffer_overflow loadmodule perl rootkit httptunnel ps sqlattack xterm",
    }.items()
    for name in names.split()
}
