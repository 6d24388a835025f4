// Boost.JSON compiled once, here (Debian's Boost 1.81 ships it header-only to build into one TU).
#include <boost/json/src.hpp>
