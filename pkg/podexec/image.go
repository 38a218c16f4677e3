package podexec

// ImageNeeds is what the bootstrap needs of the stage image, as help, docs
// and errors say it. It uses gzip as well when the image has it.
const ImageNeeds = "a POSIX sh with uname, cat, chmod, mv and mkdir"
